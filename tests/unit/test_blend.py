"""model=auto's blend: offered in folds, chosen only by a clear log-loss margin, fitted from
the selection's out-of-fold PDs, saved with skops, explained by its members' reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from pd_lib.modelling.blend import BLEND, Blend, blend_of
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.reasons import adverse_effects, log_odds_effects, reason_frame
from pd_lib.modelling.selection import (
    FOLDS_ONLY,
    choose_kind,
    fit_chosen,
    fit_kind,
    simplest_near_best,
)
from pd_lib.modelling.skops_trust import trusted_types
from pd_lib.probability import logit
from tests.books import interaction_book, linear_book

SMALL_PARAMS = {"n_estimators": 20}  # fast members: boosting capped at 20 trees, forest 20


def _book(frame):
    return frame.drop(columns=["default", "true_pd"]), frame["default"].to_numpy()


@pytest.fixture(scope="module")
def mixed():
    """A book half linear, half interactions: each kind misses part of it."""
    linear, inter = linear_book(1200, seed=1), interaction_book(1200, seed=2)
    X = np.hstack([linear.filter(like="x").to_numpy()[:, :3], inter.filter(like="x").to_numpy()])
    score = logit(linear["true_pd"].to_numpy()) + logit(inter["true_pd"].to_numpy())
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    y = (rng.random(len(frame)) < 1 / (1 + np.exp(-(score - 1.5)))).astype(int)
    return frame, y


@pytest.fixture(scope="module")
def selection(mixed):
    X, y = mixed
    return choose_kind(X, y, SMALL_PARAMS, seed=0)


@pytest.fixture(scope="module")
def blend_model(selection, mixed):
    """The blend of the selection's kinds, fitted as train fits a chosen blend."""
    X, y = mixed
    chosen = selection.winner
    selection.winner = BLEND
    try:
        return fit_chosen(selection, X, y, SMALL_PARAMS, seed=0)
    finally:
        selection.winner = chosen


def test_small_books_compare_the_scorecard_and_the_blend_of_every_kind(selection):
    assert set(FOLDS_ONLY) <= set(selection.table["kind"])
    assert selection.folds == 5 and len(selection.blend_kinds) == 5
    assert selection.table["chosen"].sum() == 1


def test_on_small_books_a_single_kind_must_beat_the_blend_by_a_standard_error():
    rng = np.random.default_rng(0)
    blend = rng.uniform(0.2, 0.4, 2000)
    slightly_better = blend - rng.normal(0.0005, 0.05, 2000)   # within one standard error
    clearly_better = blend - rng.normal(0.02, 0.05, 2000)
    order = [BLEND, "logistic_regression"]
    assert simplest_near_best({BLEND: blend, "logistic_regression": slightly_better},
                              order) == BLEND
    assert simplest_near_best({BLEND: blend, "logistic_regression": clearly_better},
                              order) == "logistic_regression"


def test_the_selection_puts_the_blend_first_only_when_it_offers_one(selection, mixed):
    from pd_lib.modelling.selection import select_kind

    table = selection.table.set_index("kind")
    best = table["cv_log_loss"].idxmin()
    assert selection.winner in (BLEND, best)
    X, y = mixed
    without = select_kind(X, y, lambda kind, sample: build_model(
        kind, {**SMALL_PARAMS, "calibration": "none"}, sample, seed=0),
        ("logistic_regression", "hist_gradient_boosting"), seed=0, folds=3)
    assert BLEND not in set(without.table["kind"])


def test_a_fitted_blend_is_its_members_mean_log_odds_then_calibrated(selection, blend_model, mixed):
    X, y = mixed
    model = blend_model
    blend = model.estimator_
    assert isinstance(blend, Blend) and blend.kinds == list(selection.blend_kinds)
    members = [m.predict_pd(X) for m in blend.members]
    np.testing.assert_allclose(model.predict_raw_pd(X), blend_of(members), rtol=1e-12)
    assert model.calibration_report_["rows"] == len(y)  # calibrated on the selection's OOF PDs
    p = model.predict_pd(X)
    assert np.all((p > 0) & (p < 1)) and abs(p.mean() - y.mean()) < 0.02


def test_a_blend_saves_and_loads_with_skops_giving_the_same_pds(blend_model, mixed, tmp_path):
    X, y = mixed
    model = blend_model
    path = tmp_path / "blend.skops"
    sio.dump(model, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(trusted_types())
    loaded = sio.load(path, trusted=trusted_types())
    np.testing.assert_array_equal(loaded.predict_pd(X), model.predict_pd(X))


def test_a_blends_reasons_are_its_members_mean_log_odds_effects(selection, blend_model, mixed):
    X, y = mixed
    model = blend_model
    rows = X.head(50)
    expected = sum(log_odds_effects(m, rows).reindex(columns=list(X.columns), fill_value=0.0)
                   for m in model.estimator_.members) / len(model.estimator_.members)
    effects = adverse_effects(model, rows)
    np.testing.assert_allclose(effects.to_numpy(), expected.to_numpy(), rtol=1e-12)
    reasons = reason_frame(model, rows, 2)
    first = effects.to_numpy().argmax(axis=1)
    positive = effects.to_numpy().max(axis=1) > 0
    assert list(reasons["reason_1"][positive]) == list(X.columns[first[positive]])


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "scorecard"])
def test_the_chosen_kind_is_calibrated_on_the_selections_folds_as_a_plain_fit_would_be(
        selection, mixed, kind, monkeypatch):
    X, y = mixed
    with monkeypatch.context() as patch:  # reused: no cross-fitting of its own
        patch.setattr(PDModel, "_out_of_fold", lambda *a: pytest.fail("cross-fitted again"))
        reused = fit_kind(kind, selection, X, y, SMALL_PARAMS, seed=0)
    plain = build_model(kind, SMALL_PARAMS, X, seed=0).fit(X, y)
    assert reused.calibration_method_ == plain.calibration_method_
    np.testing.assert_allclose(reused.predict_pd(X), plain.predict_pd(X), rtol=1e-9,
                               atol=1e-12)


def test_no_blend_is_offered_when_monotone_constraints_are_asked_for(mixed):
    X, y = mixed
    small = X.head(400)
    selection = choose_kind(small, y[:400], {**SMALL_PARAMS, "monotone": "f0=+1"}, seed=0)
    assert BLEND not in set(selection.table["kind"]) and not selection.blend_kinds
