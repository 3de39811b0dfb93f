"""Calibration maps, their choice, and a calibrated PDModel's skops round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from pd_lib.modelling.calibration import (
    apply_map,
    calibration_plan,
    choose_calibration,
    fit_map,
    logistic_fit,
)
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.skops_trust import trusted_types
from pd_lib.probability import logit
from tests.books import linear_book

TRUSTED = trusted_types()


def _overconfident(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(-2, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return 1 / (1 + np.exp(-2.5 * z)), y  # PDs too extreme: slope 0.4


def test_logistic_fit_recovers_slope():
    raw, y = _overconfident()
    a, _ = logistic_fit(logit(raw), y)
    assert a == pytest.approx(0.4, abs=0.06)


def test_auto_fixes_overconfident_pds_and_keeps_calibrated_ones():
    raw, y = _overconfident()
    method, params, report = choose_calibration(raw, y, "auto", seed=1)
    assert method in ("sigmoid", "isotonic")
    assert report["log_loss_after"] < report["log_loss_before"]
    assert 0.85 < report["slope_after"] < 1.15
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.5, 4000)
    y2 = (rng.random(4000) < p).astype(int)
    assert choose_calibration(p, y2, "auto", seed=1)[0] == "none"


def test_maps_are_monotone_and_plain_numbers():
    raw, y = _overconfident()
    grid = np.linspace(0.001, 0.999, 200)
    for method in ("sigmoid", "isotonic"):
        params = fit_map(method, raw, y)
        assert all(isinstance(v, float | np.ndarray) for v in params.values())
        assert np.all(np.diff(apply_map(method, params, grid)) >= 0)


def test_plan_is_cheap_at_large_sizes():
    assert calibration_plan(800).folds == 5
    assert calibration_plan(50_000).folds == 3
    assert calibration_plan(200_000).folds == 3
    assert calibration_plan(1_000_000).folds == 1


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "logistic_regression"])
def test_calibrated_model_round_trips_through_skops(kind):
    frame = linear_book(1500, seed=1)
    frame["grade"] = np.where(frame["x0"] > 0, "A", "B")
    X = frame.drop(columns=["default", "true_pd"])
    params = {"C": 1.0} if kind == "logistic_regression" else {}  # no inner CV: fast test
    model = build_model(kind, {**params, "calibration": "sigmoid"}, X, seed=1)
    model.fit(X, frame["default"].to_numpy())
    dumped = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=dumped)
    assert set(untrusted) <= set(TRUSTED), untrusted
    loaded = sio.loads(dumped, trusted=untrusted)
    assert loaded.calibration_method_ == "sigmoid"
    np.testing.assert_array_equal(loaded.predict_pd(X), model.predict_pd(X))
    assert not np.array_equal(model.predict_pd(X), model.predict_raw_pd(X))


def test_isotonic_round_trip_and_determinism():
    frame = linear_book(1500, seed=2)
    X = frame.drop(columns=["default", "true_pd"])
    y = frame["default"].to_numpy()
    a = build_model("hist_gradient_boosting", {"calibration": "isotonic"}, X, 7).fit(X, y)
    b = build_model("hist_gradient_boosting", {"calibration": "isotonic"}, X, 7).fit(X, y)
    np.testing.assert_array_equal(a.predict_pd(X), b.predict_pd(X))
    loaded = sio.loads(sio.dumps(a), trusted=sio.get_untrusted_types(data=sio.dumps(a)))
    np.testing.assert_array_equal(loaded.predict_pd(X), a.predict_pd(X))
    assert isinstance(loaded.predict(X), pd.DataFrame)
