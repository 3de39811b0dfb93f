"""model=auto: cross-validate the model kinds on the training sample and pick one.

Each kind, with its size-aware defaults, is cross-fitted on (a stratified sample of at most
SELECTION_MAX_ROWS of) the training loans; its out-of-fold PDs are then calibrated exactly as
the final model would be (:func:`choose_calibration`), so a kind is judged by the log loss it
reaches *with* its calibration: random forest's timid raw PDs are not held against it.

Near ties go to the simpler kind, in the order of PREFERENCE (logistic regression: fewest
parameters, monotone and explainable by construction, fastest to score; then boosting, smaller
and faster than a forest): a kind wins if no kind before it in that order is within one
standard error of the paired per-loan log-loss difference of the best.

On books the selection cross-validates in folds (at most FIVE_FOLD_MAX_ROWS loans) the
blend of all kinds comes first in that order: a single kind must beat it by more than one
standard error. There the kinds' log losses differ by less than their noise (German credit:
0.489-0.515 on 800 loans), so picking one by a hair is picking the sample's noise; their
average does not depend on that pick (measured in docs/model_defaults.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from pd_lib.cores import side_by_side
from pd_lib.modelling.blend import BLEND, Blend, blend_of
from pd_lib.modelling.calibration import calibration_plan, choose_calibration, cross_fitted
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.kinds import KINDS, effective_calibration
from pd_lib.modelling.pd_model import PDModel
from pd_lib.probability import row_log_loss

PREFERENCE = ("logistic_regression", "spline_logistic_regression", "scorecard",
              "hist_gradient_boosting", "random_forest")
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
# Kinds compared only on books the selection cross-validates in folds (at most
# FIVE_FOLD_MAX_ROWS loans): the scorecard (its binning takes seconds per fit, and on large
# books the flexible kinds reach the true PD's ranking anyway) and the blend of all kinds,
# which needs every kind's out-of-fold PDs of every loan.
FOLDS_ONLY = ("scorecard", BLEND)


@dataclass
class Selection:
    """The comparison table (one row per kind, best first) and the chosen kind.

    With folds (``folds`` > 1, every sampled row scored) it keeps each kind's out-of-fold raw
    PDs in the sample's row order (``out_of_fold``; the blend's is the mean log-odds of the
    kinds' calibrated ones), from which the final model's calibration stage is fitted
    when the sample is the whole training set (:func:`fit_chosen`)."""

    table: pd.DataFrame
    winner: str
    folds: int = 1
    rows: np.ndarray = field(default_factory=lambda: np.arange(0))
    out_of_fold: dict[str, np.ndarray] = field(default_factory=dict)
    blend_kinds: tuple[str, ...] = ()
    built_with: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    calibrations: Mapping[str, str] | None = None,
    blend: bool = False,
) -> Selection:
    """Cross-validate ``kinds`` (and with ``blend`` and folds, their blend) and choose one.

    ``build(kind, X_sample)`` returns an unfitted estimator with predict_proba (e.g. an
    uncalibrated PDModel from factory.build_model); ``calibrations``: the calibration each
    kind's final model gets (auto when not given). Table columns: kind, cv_log_loss (after
    that calibration), cv_log_loss_raw, cv_roc_auc, calibration, fit_seconds, rows.
    """
    y = np.asarray(y, dtype=int)
    rows = stratified_sample(y, max_rows, seed)
    Xs, ys = X.iloc[rows].reset_index(drop=True), y[rows]
    splits = _splits(ys, folds, seed)
    scored = np.concatenate([score_rows for _, score_rows in splits])
    ys_scored = ys[scored]
    records, losses, raws, calibrated_pds = [], {}, {}, {}

    def judge(kind: str, raw: np.ndarray, method: str, fit_seconds: float) -> None:
        started = time.perf_counter()
        method, _, report = choose_calibration(raw, ys_scored, method, seed)
        calibrated_pds[kind] = cross_fitted(method, raw, ys_scored, seed) if method != "none" \
            else raw
        losses[kind] = row_log_loss(ys_scored, calibrated_pds[kind])
        records.append({
            "kind": kind, "cv_log_loss": float(losses[kind].mean()),
            "cv_log_loss_raw": report["cv_log_loss_none"],
            "cv_roc_auc": float(roc_auc_score(ys_scored, raw)), "calibration": method,
            "fit_seconds": fit_seconds + time.perf_counter() - started, "rows": int(len(ys)),
        })

    templates = {kind: build(kind, Xs) for kind in kinds}
    fitted = _fit_and_score_all(templates, Xs, ys, splits)
    for kind in kinds:
        raw = np.full(len(ys), np.nan)
        for (_, score_rows), (scores, _) in zip(splits, fitted[kind], strict=True):
            raw[score_rows] = scores
        raws[kind] = raw
        judge(kind, raw[scored], (calibrations or {}).get(kind, "auto"),
              sum(seconds for _, seconds in fitted[kind]))
    blend_kinds = tuple(kinds) if blend and folds > 1 and len(kinds) > 1 else ()
    if blend_kinds:
        blend_raw = blend_of([calibrated_pds[k] for k in blend_kinds])
        raws[BLEND] = np.empty(len(ys))
        raws[BLEND][scored] = blend_raw
        judge(BLEND, blend_raw, "auto", 0.0)
    table = pd.DataFrame(records).sort_values("cv_log_loss").reset_index(drop=True)
    singles = [*[k for k in PREFERENCE if k in kinds], *[k for k in kinds if k not in PREFERENCE]]
    winner = simplest_near_best(losses, [BLEND, *singles] if blend_kinds else singles)
    table["chosen"] = table["kind"] == winner
    return Selection(table, winner, folds, rows, raws if folds > 1 else {}, blend_kinds)


def fit_and_score(template: object, X: pd.DataFrame, y: np.ndarray, fit_rows: np.ndarray,
                   score_rows: np.ndarray) -> tuple[np.ndarray, float]:
    """PDs of ``score_rows`` from a clone of ``template`` fitted on ``fit_rows``, and the
    seconds it took."""
    started = time.perf_counter()
    model = clone(template).fit(X.iloc[fit_rows], y[fit_rows])
    return model.predict_proba(X.iloc[score_rows])[:, 1], time.perf_counter() - started


def _fit_and_score_all(templates: Mapping[str, object], X: pd.DataFrame, y: np.ndarray,
                       splits: list[tuple[np.ndarray, np.ndarray]]
                       ) -> dict[str, list[tuple[np.ndarray, float]]]:
    """Every kind fitted and scored on every split, the fits side by side on the step's
    cores (:func:`pd_lib.cores.parallel_fits`); per kind, one (PDs, seconds) per split."""
    tasks = [(kind, split) for kind in templates for split in splits]
    done = side_by_side(fit_and_score, [(templates[kind], X, y, fit_rows, score_rows)
                                         for kind, (fit_rows, score_rows) in tasks])
    per_kind: dict[str, list[tuple[np.ndarray, float]]] = {kind: [] for kind in templates}
    for (kind, _), result in zip(tasks, done, strict=True):
        per_kind[kind].append(result)
    return per_kind


def expected_rows_fitted(n_rows: int, model: str) -> float:
    """Rows train expects to fit on ``n_rows`` training loans (main's core plan weighs its
    share by them): with model=auto, every kind on the selection's sample and splits; then
    the model's own fits (its calibration's cross-fitting folds and the final fit)."""
    plan = calibration_plan(n_rows)
    own = n_rows * plan.folds if plan.folds > 1 else n_rows * (1 - plan.holdout_share)
    if model != "auto":
        return own
    sample = min(n_rows, SELECTION_MAX_ROWS)
    folds = SELECTION_FOLDS if sample <= FIVE_FOLD_MAX_ROWS else 1
    kinds = [k for k in PREFERENCE if k in KINDS and (folds > 1 or k not in FOLDS_ONLY)]
    per_kind = sample * (folds - 1) if folds > 1 else sample * (1 - SPLIT_SCORE_SHARE)
    return len(kinds) * per_kind + own


def simplest_near_best(losses: Mapping[str, np.ndarray], simplest_first: list[str]) -> str:
    """The first candidate in ``simplest_first`` whose per-loan log loss is within one
    standard error of the paired difference from the best candidate's."""
    best = min(losses, key=lambda k: losses[k].mean())
    for kind in simplest_first:
        if kind == best:
            return best
        diff = losses[kind] - losses[best]
        if diff.mean() <= diff.std(ddof=1) / np.sqrt(diff.size):
            return kind
    return best


def choose_kind(X: pd.DataFrame, y: np.ndarray, params: Mapping[str, Any], seed: int = 42
                ) -> Selection:
    """model=auto: :func:`select_kind` over the kinds of the table (the scorecard and the
    blend only when the selection runs in folds), each built from the user's ``params`` as
    train would build it, its calibration stage fitted on the out-of-fold PDs as the final
    model's would be."""
    built_with: dict[str, dict[str, Any]] = {}

    def build(kind: str, sample: pd.DataFrame) -> object:
        trees = {"n_estimators": SELECTION_FOREST_TREES} if (
            kind == "random_forest" and not params.get("n_estimators")) else {}
        built_with[kind] = {**params, **trees}
        return build_model(kind, {**params, **trees, "calibration": "none"}, sample, seed)

    folds = SELECTION_FOLDS if min(len(y), SELECTION_MAX_ROWS) <= FIVE_FOLD_MAX_ROWS else 1
    kinds = tuple(k for k in PREFERENCE if k in KINDS and (folds > 1 or k not in FOLDS_ONLY))
    calibrations = {k: effective_calibration(k, str(params.get("calibration") or ""))
                    for k in kinds}
    # A blend is monotone only where all its members are: with constraints, single kinds only.
    selection = select_kind(X, y, build, kinds, seed, folds=folds, calibrations=calibrations,
                            blend=folds > 1 and not params.get("monotone"))
    selection.built_with = built_with
    return selection


def fit_chosen(selection: Selection, X: pd.DataFrame, y: np.ndarray,
               params: Mapping[str, Any], seed: int = 42) -> PDModel:
    """The chosen kind (or the blend) fitted on all of ``X``, as train fits it."""
    if selection.winner == BLEND:
        members = side_by_side(fit_kind, [(kind, selection, X, y, params, seed)
                                          for kind in selection.blend_kinds])
        blend = PDModel(Pipeline([("classifier", Blend(members, list(selection.blend_kinds)))]),
                        calibration="auto", random_state=seed)
        return blend.fit_with_out_of_fold(X, y, selection.out_of_fold[BLEND])
    return fit_kind(selection.winner, selection, X, y, params, seed)


def fit_kind(kind: str, selection: Selection, X: pd.DataFrame, y: np.ndarray,
             params: Mapping[str, Any], seed: int = 42) -> PDModel:
    """``kind`` built and fitted on ``X``; its calibration stage fitted on the selection's
    out-of-fold PDs when they are the ones its own cross-fitting would make (the same rows,
    folds, seed and model: at most 20,000 loans, every kind but a forest the selection
    shrank), so only its final fit is left."""
    model = build_model(kind, params, X, seed)
    y = np.asarray(y, dtype=int)
    reusable = (kind in selection.out_of_fold and len(selection.rows) == len(y)
                and selection.built_with.get(kind) == dict(params)
                and model.uses_folds(len(y), selection.folds, seed))
    if not reusable:
        return model.fit(X, y)
    return model.fit_with_out_of_fold(X, y, selection.out_of_fold[kind])
