"""The model kinds (pd_lib.modelling.kinds, built by pd_lib.modelling.factory) and PDModel:
every model kind returns PDs, under one name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import PD_COL, TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.data.sources import make_classification_loans
from pd_lib.errors import PipelineError
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.kind_params import check_model_params
from pd_lib.modelling.kinds import MODEL_KINDS


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
     ("random_forest", {"n_estimators": -1}, "n_estimators must be >= 0"),
     ("random_forest", {"calibration": "platt"}, "calibration must be one of"),
     ("auto", {}, "model=auto picks a kind first"),
     ("random_forest", {"min_samples_leaf": -1}, "min_samples_leaf must be >= 0"),
     ("random_forest", {"max_depth": -2}, "max_depth must be >= 0")],
)
def test_bad_model_params_are_refused(kind, params, needle):
    with pytest.raises(PipelineError, match=needle):
        build_model(kind, params, pd.DataFrame({"x": [1.0]}))


def test_zero_means_the_kinds_size_aware_default_and_explicit_values_win():
    small, large = (make_classification_loans(n, 4, 0.2, seed=0) for n in (400, 40_000))
    for kind in ("random_forest", "hist_gradient_boosting"):
        leaf = [build_model(kind, {"min_samples_leaf": 0}, X).pipeline[-1].min_samples_leaf
                for X in (small, large)]
        assert leaf[0] < leaf[1], f"{kind}: leaves grow with the data"
    hgb = build_model("hist_gradient_boosting", {"min_samples_leaf": 7, "n_estimators": 50,
                                                 "max_depth": 2}, small).pipeline[-1]
    assert (hgb.min_samples_leaf, hgb.max_iter, hgb.max_depth) == (7, 50, 2)
    assert hgb.max_leaf_nodes is None  # an explicit depth is the user's tree size
    default = build_model("hist_gradient_boosting", {}, small).pipeline[-1]
    assert default.early_stopping is True and default.scoring == "loss"
    assert build_model("logistic_regression", {"C": 0.5}, small).pipeline[-1].C == 0.5


def test_negative_leaf_is_refused():
    with pytest.raises(PipelineError, match="min_samples_leaf must be >= 0"):
        check_model_params("random_forest", {"min_samples_leaf": -1})


def test_a_model_saved_before_the_layers_still_loads(tmp_path):
    """A registered version logged by the flat pd_lib names pd_lib.pd_model.PDModel and
    pd_lib.features.TreeEncoder in its skops file; it must load and give the same PDs."""
    import json
    import zipfile

    import skops.io as sio

    from pd_lib.modelling.skops_trust import LEGACY_TRUSTED_TYPES, trusted_types

    X = make_classification_loans(200, 3, 0.3, seed=1)
    features = feature_columns(X)
    model = build_model("hist_gradient_boosting", {"n_estimators": 3}, X[features])
    model.fit(X[features], X[TARGET_COL].to_numpy())
    new, old = tmp_path / "new.skops", tmp_path / "old.skops"
    sio.dump(model, new)
    with zipfile.ZipFile(new) as source, zipfile.ZipFile(old, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "schema.json":
                text = data.decode()
                assert "pd_lib.modelling.pd_model" in text
                text = text.replace("pd_lib.modelling.pd_model", "pd_lib.pd_model")
                text = text.replace("pd_lib.modelling.features", "pd_lib.features")
                json.loads(text)
                data = text.encode()
            target.writestr(item, data)
    old_names = [t.replace("modelling.", "") if t.startswith("pd_lib.modelling.") else t
                 for t in trusted_types()]
    assert set(sio.get_untrusted_types(file=old)) <= set(old_names)
    assert set(LEGACY_TRUSTED_TYPES) <= set(sio.get_untrusted_types(file=old))
    loaded = sio.load(old, trusted=old_names)
    np.testing.assert_array_equal(loaded.predict_pd(X[features]), model.predict_pd(X[features]))
