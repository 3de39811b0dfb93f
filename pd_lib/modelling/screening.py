"""Screen, then cross-validate: a two-round successive halving that is cheap and accurate.

Round 0 fits every candidate once on a stratified sample of the training rows
(SCREEN_TRAIN_ROWS) and scores its ROC AUC on another, disjoint sample (SCREEN_VALID_ROWS).
Round 1 fits the best SCREEN_KEEP (2) of them on the first of the cross-validation folds of
all rows (a stratified sample of CV_MAX_ROWS on larger books); round 2 completes the folds of
the better one only, whose mean CV ROC AUC is its score, and it is refit on all rows, as
GridSearchCV would refit its best.

Why round 2 is not the runner-up's folds as well: the fold-1 comparison already scores a
third of the rows (26,667 of 80,000 training loans), more than twice the screening's, and the
runner-up's other folds are two of round 1's six fits (on 100k loans and one core, main's
tune took 24.0 s for round 1 with them, 13.1 s for both rounds without). Over 5 books of
each source at 100k loans, fold 1 picked what all three folds pick in 8 of 10; in the other
two the finalists' mean CV ROC AUCs differed by 0.0001, and the holdout ROC AUC by -0.0003
and -0.0008 (``python -m benchmarks.screen_rounds``, benchmarks/RESULTS.md).

Why not scikit-learn's HalvingGridSearchCV: it cross-validates every round, and its first
round must be small to pay off (about n / 27 rows for 27 candidates, ~300 defaults at
100k loans). There ROC AUC is noise next to the 0.002 that separates good boosting
candidates, and small samples favour the most regularised ones: on 100k synthetic loans it
kept a slow learner that the full data did not favour (holdout AUC 0.0021 below the grid's
choice) in 0.53x the grid's time, since fits of boosting models on few rows are not
proportionally cheaper. One split per candidate (15,000 rows to fit, 10,000 to score) is
both cheaper and a better judge: 0.22x the grid's time, holdout AUC 0.0003 below its
choice (benchmarks/RESULTS.md, section 4; 20,000 rows to fit took 0.28x for +0.0002); with
round 2 as below, 0.17x and 0.0005 below (RESULTS.md, "Screen search").
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid, train_test_split

from pd_lib.cores import side_by_side
from pd_lib.modelling.calibration import CROSS_FIT_MAX_ROWS

log = logging.getLogger("pd_pipeline")

SCREEN_TRAIN_ROWS = 15_000
SCREEN_VALID_ROWS = 10_000
SCREEN_KEEP = 2
# Round 1 cross-validates on at most this many loans (a stratified sample above): the few
# candidates left differ by more than the noise of 300,000 loans' ROC AUC (SE ~0.001 at 10%
# defaults), and on 800,000 training loans cross-validating all of them was 135 of tune's
# 180 s. Up to here every row is cross-validated, so the best one's calibration stage reuses
# its out-of-fold PDs (pd_lib.modelling.calibration cross-fits up to the same size).
CV_MAX_ROWS = CROSS_FIT_MAX_ROWS


def cross_validation_rows(y: np.ndarray, seed: int) -> np.ndarray | None:
    """Row positions of a stratified sample of CV_MAX_ROWS loans to cross-validate on, or
    None to use every row (at most CV_MAX_ROWS)."""
    if len(y) <= CV_MAX_ROWS:
        return None
    rows, _ = train_test_split(np.arange(len(y)), train_size=CV_MAX_ROWS, stratify=y,
                               random_state=seed)
    return np.sort(rows)


def screen_sizes(n_rows: int) -> tuple[int, int]:
    """Rows to fit on and rows to score on in the screening round (half each when small)."""
    train_rows = min(SCREEN_TRAIN_ROWS, n_rows // 2)
    return train_rows, min(SCREEN_VALID_ROWS, n_rows - train_rows)


def fit_and_score_candidate(
    estimator: BaseEstimator, params: dict[str, Any], X_fit: pd.DataFrame, y_fit: np.ndarray,
    X_score: pd.DataFrame, y_score: np.ndarray,
) -> tuple[float, float, np.ndarray]:
    """ROC AUC on the scoring rows of a clone fitted with ``params``, the fit seconds, and
    the clone's PDs of the scoring rows."""
    model = clone(estimator).set_params(**params)
    started = time.perf_counter()
    model.fit(X_fit, y_fit)
    seconds = time.perf_counter() - started
    scores = model.predict_proba(X_score)[:, 1]
    return float(roc_auc_score(y_score, scores)), seconds, scores


def params_key(params: dict[str, Any]) -> str:
    """A candidate's parameters as a dictionary key."""
    return repr(sorted(params.items()))


class ScreenSearch:
    """Screen every candidate on one split, race the best few on a fold, cross-validate and
    refit the winner.

    Exposes what the tune step reads from scikit-learn's searches: ``cv_results_`` (with
    ``iter`` and ``n_resources`` as HalvingGridSearchCV has them), ``best_params_``,
    ``best_score_`` (mean CV ROC AUC) and ``best_estimator_``; ``n_fits_`` (the fits of
    its rounds, the refit not counted); and the best one's
    out-of-fold PDs (:meth:`out_of_fold_pd`), from which its calibration stage can be fitted
    without fitting its folds again.
    """

    def __init__(self, estimator: BaseEstimator, param_grid: dict[str, list[Any]], cv: Any,
                 seed: int, keep: int = SCREEN_KEEP, refit: bool = True):
        self.estimator, self.param_grid, self.cv = estimator, param_grid, cv
        self.seed, self.keep, self.refit = seed, keep, refit

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ScreenSearch:
        """Run the rounds on ``X``, ``y`` and (``refit``) refit the best on all of them."""
        candidates = list(ParameterGrid(self.param_grid))
        records: list[dict[str, Any]] = []
        started = time.perf_counter()
        if len(candidates) > self.keep:
            n_screened = len(candidates)
            candidates = self._screen(candidates, X, y, records)
            log.info("screened %d candidates on one split in %.1f s; racing the best %d "
                     "on a fold", n_screened, time.perf_counter() - started, len(candidates))
        started = time.perf_counter()
        rows = cross_validation_rows(y, self.seed)
        if rows is None:
            best = self._cross_validate(candidates, X, y, records)
        else:  # a large book: a stratified sample tells the few candidates apart
            best = self._cross_validate(candidates, X.iloc[rows], y[rows], records)
            self.out_of_fold_pd_ = {}  # not every row's: calibration cannot reuse them
        self.cv_results_ = {key: [r[key] for r in records] for key in records[0]}
        # a race's winner's first fold is in its race record and in its last one
        self.n_fits_ = sum(self.cv_results_["n_splits"]) - (len(candidates) > 1)
        self.best_params_, self.best_score_ = best["params"], best["mean_test_score"]
        log.info("raced %d candidates on a fold and cross-validated the better on %d rows in "
                 "%.1f s", len(candidates), len(y) if rows is None else len(rows),
                 time.perf_counter() - started)
        if self.refit:
            started = time.perf_counter()  # one fit: all of this process's cores
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_).fit(
                X, y)
            log.info("refitted the best on all %d rows in %.1f s", len(y),
                     time.perf_counter() - started)
        return self

    def _screen(self, candidates: list[dict], X: pd.DataFrame, y: np.ndarray,
                records: list[dict]) -> list[dict]:
        train_rows, valid_rows = screen_sizes(len(y))
        X_fit, X_score, y_fit, y_score = train_test_split(
            X, y, train_size=train_rows, test_size=valid_rows, stratify=y,
            random_state=self.seed)
        scored = side_by_side(fit_and_score_candidate, [
            (self.estimator, params, X_fit, y_fit, X_score, y_score) for params in candidates])
        for params, (score, seconds, _) in zip(candidates, scored, strict=True):
            records.append(_record(params, [score], [seconds], 0, train_rows + valid_rows))
        order = sorted(range(len(candidates)), key=lambda i: -scored[i][0])
        return [candidates[i] for i in order[:self.keep]]

    def _cross_validate(self, candidates: list[dict], X: pd.DataFrame, y: np.ndarray,
                        records: list[dict]) -> dict[str, Any]:
        """Round 1: every candidate on the first fold; round 2: the better one's other
        folds. Returns the better one's record (its mean over every fold)."""
        folds = list(self.cv.split(X, y))

        def on_folds(params_and_folds: list[tuple[dict, tuple]]) -> list[tuple]:
            return side_by_side(fit_and_score_candidate, [
                (self.estimator, params, X.iloc[fit], y[fit], X.iloc[score], y[score])
                for params, (fit, score) in params_and_folds])

        round_ = max((r["iter"] + 1 for r in records), default=0)
        first = on_folds([(params, folds[0]) for params in candidates])
        if len(candidates) > 1:
            for params, (score, seconds, _) in zip(candidates, first, strict=True):
                records.append(_record(params, [score], [seconds], round_, len(y)))
            round_ += 1
        better = max(range(len(candidates)), key=lambda i: first[i][0])  # a tie: the screen's
        params = candidates[better]
        mine = [first[better], *on_folds([(params, fold) for fold in folds[1:]])]
        records.append(_record(params, [s for s, _, _ in mine], [t for _, t, _ in mine],
                               round_, len(y)))
        out_of_fold = np.empty(len(y), dtype=float)
        for (_, score_rows), (_, _, scores) in zip(folds, mine, strict=True):
            out_of_fold[score_rows] = scores
        self.out_of_fold_pd_: dict[str, np.ndarray] = {params_key(params): out_of_fold}
        return records[-1]

    def out_of_fold_pd(self, params: dict[str, Any]) -> np.ndarray | None:
        """The best candidate's PDs of every row, each from the fold model that did not see
        it (None for any other candidate: they were not fitted on every fold)."""
        return getattr(self, "out_of_fold_pd_", {}).get(params_key(params))


def _record(params: dict[str, Any], scores: list[float], seconds: list[float], round_: int,
            rows: int) -> dict[str, Any]:
    return {"params": params, "mean_test_score": float(np.mean(scores)),
            "std_test_score": float(np.std(scores)), "mean_fit_time": float(np.mean(seconds)),
            "iter": round_, "n_resources": rows, "n_splits": len(scores)}
