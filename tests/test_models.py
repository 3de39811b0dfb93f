"""pd_lib.models and PDModel: every model kind returns PDs, under one name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import PD_COL, TARGET_COL
from pd_lib.data import feature_columns
from pd_lib.errors import PipelineError
from pd_lib.models import MODEL_KINDS, build_model


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_predicts_a_pd_column(kind, small_loans):
    frame = small_loans.copy()
    frame["segment"] = np.where(frame["feature_0"] > 0, "retail", "sme")
    frame.loc[::9, "feature_1"] = np.nan
    X = frame[feature_columns(frame)]
    model = build_model(kind, {"n_estimators": 10}, X, seed=1).fit(X, frame[TARGET_COL])
    out = model.predict(X.head(50))
    assert list(out.columns) == [PD_COL]
    assert out[PD_COL].between(0, 1).all()
    np.testing.assert_allclose(out[PD_COL], model.predict_proba(X.head(50))[:, 1])


def test_unseen_category_is_scored_not_refused(small_loans):
    frame = small_loans.assign(segment="retail")
    X = frame[feature_columns(frame)]
    model = build_model("hist_gradient_boosting", {}, X).fit(X, frame[TARGET_COL])
    new = X.head(3).assign(segment="never seen")
    assert model.predict(new)[PD_COL].notna().all()


def test_same_seed_same_model(small_loans):
    X = small_loans[feature_columns(small_loans)]
    a = build_model("random_forest", {"n_estimators": 5}, X, seed=3).fit(X, small_loans.default)
    b = build_model("random_forest", {"n_estimators": 5}, X, seed=3).fit(X, small_loans.default)
    np.testing.assert_array_equal(a.predict_pd(X), b.predict_pd(X))


@pytest.mark.parametrize(
    ("kind", "params", "needle"),
    [("boosted_lizard", {}, "unknown model 'boosted_lizard'"),
     ("random_forest", {"n_estimators": 0}, "n_estimators must be a positive integer; got 0"),
     ("random_forest", {"min_samples_leaf": -1}, "min_samples_leaf must be >= 0"),
     ("random_forest", {"max_depth": -2}, "max_depth must be >= 0")],
)
def test_bad_model_params_are_refused(kind, params, needle):
    with pytest.raises(PipelineError, match=needle):
        build_model(kind, params, pd.DataFrame({"x": [1.0]}))
