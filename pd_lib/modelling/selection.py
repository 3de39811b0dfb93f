"""model=auto: cross-validate the model kinds on the training sample and pick one.

Each kind, with its size-aware defaults, is cross-fitted on (a stratified sample of at most
SELECTION_MAX_ROWS of) the training loans; its out-of-fold PDs are then calibrated exactly as
the final model would be (:func:`choose_calibration`), so a kind is judged by the log loss it
reaches *with* its calibration: random forest's timid raw PDs are not held against it.

Near ties go to the simpler kind, in the order of PREFERENCE (logistic regression: fewest
parameters, monotone and explainable by construction, fastest to score; then boosting, smaller
and faster than a forest): a kind wins if no kind before it in that order is within one
standard error of the paired per-loan log-loss difference of the best.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from pd_lib.modelling.calibration import choose_calibration, cross_fitted
from pd_lib.modelling.kinds import KINDS, build_model
from pd_lib.probability import row_log_loss

PREFERENCE = ("logistic_regression", "hist_gradient_boosting", "random_forest")
# A larger sample lets the flexible kinds show what more data gives them: on 80,000
# synthetic training loans boosting won on a 50,000-row sample but not on a 20,000-row one,
# and its holdout AUC is 0.99 of the true PD's against logistic regression's 0.98.
SELECTION_MAX_ROWS = 50_000
SELECTION_FOLDS = 5
# Above this many sampled rows, one split instead of folds: each kind is fitted once on 80%
# of the sample and scored on the other 20% (10,000 loans at the largest sample, standard
# error of a log-loss difference ~0.0003), as the tune step's screening does. Cross-
# validating three kinds was most of train's time on large books.
FIVE_FOLD_MAX_ROWS = 20_000
SPLIT_SCORE_SHARE = 0.2
# Forest size while comparing kinds: its log loss barely moves past 50 trees, its fit time
# does (it dominated the selection's time at 200).
SELECTION_FOREST_TREES = 50


@dataclass
class Selection:
    """The comparison table (one row per kind, best first) and the chosen kind."""

    table: pd.DataFrame
    winner: str


def stratified_sample(y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Row positions of a stratified sample of at most ``max_rows`` (all rows if fewer)."""
    rows = np.arange(len(y))
    if len(y) <= max_rows:
        return rows
    kept, _ = train_test_split(rows, train_size=max_rows, stratify=y, random_state=seed)
    return np.sort(kept)


def _splits(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (fit rows, scored rows): ``folds`` folds, or with folds=1 one split that
    scores SPLIT_SCORE_SHARE of the rows (every kind fitted once: for large samples)."""
    if folds > 1:
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y))
    fit_rows, score_rows = train_test_split(np.arange(len(y)), test_size=SPLIT_SCORE_SHARE,
                                            stratify=y, random_state=seed)
    return [(np.sort(fit_rows), np.sort(score_rows))]


def select_kind(
    X: pd.DataFrame,
    y: np.ndarray,
    build: Callable[[str, pd.DataFrame], object],
    kinds: tuple[str, ...] = PREFERENCE,
    seed: int = 42,
    max_rows: int = SELECTION_MAX_ROWS,
    folds: int = SELECTION_FOLDS,
) -> Selection:
    """Cross-validate ``kinds`` and choose one.

    ``build(kind, X_sample)`` returns an unfitted estimator with predict_proba (e.g. an
    uncalibrated PDModel from kinds.build_model). Table columns: kind, cv_log_loss (after the
    calibration the kind would get), cv_log_loss_raw, cv_roc_auc, calibration, fit_seconds,
    rows.
    """
    y = np.asarray(y, dtype=int)
    rows = stratified_sample(y, max_rows, seed)
    Xs, ys = X.iloc[rows].reset_index(drop=True), y[rows]
    splits = _splits(ys, folds, seed)
    scored = np.concatenate([score_rows for _, score_rows in splits])
    records, losses = [], {}
    for kind in kinds:
        started = time.perf_counter()
        template = build(kind, Xs)
        raw = np.full(len(ys), np.nan)
        for fit_rows, score_rows in splits:
            model = clone(template).fit(Xs.iloc[fit_rows], ys[fit_rows])
            raw[score_rows] = model.predict_proba(Xs.iloc[score_rows])[:, 1]
        raw, ys_scored = raw[scored], ys[scored]
        method, _, report = choose_calibration(raw, ys_scored, "auto", seed)
        calibrated = cross_fitted(method, raw, ys_scored, seed) if method != "none" else raw
        losses[kind] = row_log_loss(ys_scored, calibrated)
        records.append({
            "kind": kind, "cv_log_loss": float(losses[kind].mean()),
            "cv_log_loss_raw": report["cv_log_loss_none"],
            "cv_roc_auc": float(roc_auc_score(ys_scored, raw)), "calibration": method,
            "fit_seconds": time.perf_counter() - started, "rows": int(len(ys)),
        })
    table = pd.DataFrame(records).sort_values("cv_log_loss").reset_index(drop=True)
    best = table["kind"].iloc[0]
    winner = best
    for kind in [k for k in PREFERENCE if k in kinds]:
        if kind == best:
            break
        diff = losses[kind] - losses[best]
        if diff.mean() <= diff.std(ddof=1) / np.sqrt(diff.size):
            winner = kind
            break
    table["chosen"] = table["kind"] == winner
    return Selection(table, winner)


def choose_kind(X: pd.DataFrame, y: np.ndarray, params: Mapping[str, Any], seed: int = 42
                ) -> Selection:
    """model=auto: :func:`select_kind` over every kind of the table, each built from the
    user's ``params`` as train would build it (without its calibration stage, which the
    selection fits on the out-of-fold PDs itself)."""
    def build(kind: str, sample: pd.DataFrame) -> object:
        trees = {"n_estimators": SELECTION_FOREST_TREES} if (
            kind == "random_forest" and not params.get("n_estimators")) else {}
        return build_model(kind, {**params, **trees, "calibration": "none"}, sample, seed)

    folds = SELECTION_FOLDS if min(len(y), SELECTION_MAX_ROWS) <= FIVE_FOLD_MAX_ROWS else 1
    return select_kind(X, y, build, tuple(k for k in PREFERENCE if k in KINDS), seed,
                       folds=folds)
