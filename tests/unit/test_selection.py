"""model=auto picks logistic regression on a linear book, boosting on interactions."""

from __future__ import annotations

import numpy as np

from pd_lib.modelling.factory import build_model
from pd_lib.modelling.selection import select_kind
from tests.books import interaction_book, linear_book

KINDS = ("logistic_regression", "hist_gradient_boosting")


def _build(kind, X):
    return build_model(kind, {"calibration": "none"}, X, seed=0)


def _select(frame):
    X = frame.drop(columns=["default", "true_pd"])
    return select_kind(X, frame["default"].to_numpy(), _build, KINDS, seed=0, folds=3)


def test_linear_book_picks_logistic_regression():
    selection = _select(linear_book(3000, seed=0))
    assert selection.winner == "logistic_regression"
    assert set(selection.table.columns) >= {"kind", "cv_log_loss", "cv_roc_auc",
                                            "fit_seconds", "rows"}


def test_interaction_book_picks_boosting():
    selection = _select(interaction_book(3000, seed=0))
    assert selection.winner == "hist_gradient_boosting"
    table = selection.table.set_index("kind")
    assert table.loc["hist_gradient_boosting", "cv_roc_auc"] > table.loc[
        "logistic_regression", "cv_roc_auc"] + 0.05


def test_large_samples_are_judged_on_one_split_small_ones_by_folds():
    from pd_lib.modelling.selection import _splits

    y = np.r_[np.zeros(900, dtype=int), np.ones(100, dtype=int)]
    (fit_rows, scored), = _splits(y, 1, seed=0)
    assert len(scored) == 200 and y[scored].sum() == 20  # stratified 20%
    assert not set(fit_rows) & set(scored)
    folds = _splits(y, 5, seed=0)
    assert sorted(np.concatenate([s for _, s in folds]).tolist()) == list(range(1000))


def test_one_split_selection_reports_every_kind():
    frame = linear_book(2000, seed=4)
    X = frame.drop(columns=["default", "true_pd"])
    selection = select_kind(X, frame["default"].to_numpy(), _build, KINDS, seed=0, folds=1)
    assert set(selection.table["kind"]) == set(KINDS)
    assert selection.table["chosen"].sum() == 1


def test_the_default_auto_with_its_blend_still_picks_the_right_kind_on_either_book():
    """choose_kind as train runs it (every kind, the scorecard and the blend first in line):
    a single kind that is clearly right wins over the blend."""
    from pd_lib.modelling.selection import choose_kind

    for frame, expected in ((linear_book(3000, seed=0), "logistic_regression"),
                            (interaction_book(3000, seed=0), "hist_gradient_boosting")):
        X = frame.drop(columns=["default", "true_pd"])
        selection = choose_kind(X, frame["default"].to_numpy(), {}, seed=0)
        assert "blend" in set(selection.table["kind"])
        assert selection.winner == expected, selection.table
