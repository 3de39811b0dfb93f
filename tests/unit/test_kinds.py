"""Size-aware defaults, user overrides, native categories and monotone constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.errors import PipelineError
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.kind_params import resolve_params
from pd_lib.modelling.kinds import KINDS
from pd_lib.modelling.monotone import monotone_violations, monotonic_cst, parse_monotone


def default_params(kind: str, n_rows: int) -> dict:
    return KINDS[kind].defaults(n_rows)


def test_hgb_defaults_grow_with_n_and_stop_early():
    small, large = default_params("hist_gradient_boosting", 800), default_params(
        "hist_gradient_boosting", 1_000_000)
    assert small["n_iter_no_change"] and large["n_iter_no_change"]
    assert small["min_samples_leaf"] < large["min_samples_leaf"]
    assert small["l2_regularization"] < large["l2_regularization"]
    assert default_params("random_forest", 800)["min_samples_leaf"] < default_params(
        "random_forest", 100_000)["min_samples_leaf"]


def test_user_parameters_override_and_zero_means_default():
    p = resolve_params("hist_gradient_boosting", {"n_estimators": 50, "max_depth": 0,
                                                  "min_samples_leaf": 7,
                                                  "learning_rate": 0.2}, 10_000)
    assert (p["n_estimators"], p["min_samples_leaf"], p["learning_rate"]) == (50, 7, 0.2)
    assert p["max_depth"] == default_params("hist_gradient_boosting", 10_000)["max_depth"]
    assert resolve_params("logistic_regression", {"C": 0.5}, 100)["C"] == 0.5
    assert resolve_params("logistic_regression", {"C": 0}, 100)["C"] is None


def test_native_categories_and_unknown_category():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=600), "home": rng.choice(["RENT", "OWN"], 600)})
    y = ((X["home"] == "RENT") & (rng.random(600) < 0.5)).astype(int).to_numpy()
    model = build_model("hist_gradient_boosting", {"calibration": "none"}, X).fit(X, y)
    assert list(model.estimator_.is_categorical_) == [False, True]
    new = pd.DataFrame({"x": [0.0], "home": ["NEVER_SEEN"]})
    assert 0 < model.predict_pd(new)[0] < 1


def test_parse_monotone():
    assert parse_monotone("dti=+1; income=-1") == {"dti": 1, "income": -1}
    assert parse_monotone("") == {}
    with pytest.raises(PipelineError, match="cannot read 'dti=2'"):
        parse_monotone("dti=2")
    with pytest.raises(PipelineError, match="twice"):
        parse_monotone("a=1;a=-1")


def test_monotone_alignment_and_errors():
    assert monotonic_cst({"b": -1}, ["a", "b"], ["c"]) == [0, -1, 0]
    assert monotonic_cst({}, ["a"], []) is None
    with pytest.raises(PipelineError, match="'nope'"):
        monotonic_cst({"nope": 1}, ["a"], ["c"])
    with pytest.raises(PipelineError, match="'c' is categorical"):
        monotonic_cst({"c": 1}, ["a"], ["c"])


def test_monotone_is_enforced_by_hgb_and_reported_for_lr():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"dti": rng.normal(size=800), "income": rng.normal(size=800)})
    y = (rng.random(800) < 1 / (1 + np.exp(-(X["dti"] - 1.5)))).astype(int).to_numpy()
    model = build_model("hist_gradient_boosting", {"monotone": "dti=-1", "calibration": "none"},
                        X).fit(X, y)
    grid = pd.DataFrame({"dti": np.linspace(-3, 3, 50), "income": 0.0})
    assert np.all(np.diff(model.predict_pd(grid)) <= 1e-12)
    assert monotone_violations({"dti": 0.9, "income": -0.1}, {"dti": -1, "income": -1}) == {
        "dti": 0.9}
