"""Calibration of PDs: Platt (sigmoid on the logit) or isotonic, fitted on out-of-fold PDs.

A calibration map is plain numbers, so a model that carries one saves with skops without new
trusted types: ``("none", {})``, ``("sigmoid", {"a": a, "b": b})`` meaning
PD = 1 / (1 + exp(-(a * logit(raw) + b))), or ``("isotonic", {"x": x, "y": y})`` meaning
PD = np.interp(raw, x, y) (flat outside [x[0], x[-1]]).

How it is chosen (:func:`choose_calibration`): the out-of-fold raw PDs of the training sample
are split into CALIBRATION_FOLDS stratified folds; each method is fitted on the other folds and
scored (log loss) on the held-out one, so every method is judged on PDs it did not see. The
more complex method (none < sigmoid < isotonic) wins only if its cross-validated log loss is
lower by more than one standard error of the paired per-loan difference: a one-standard-error
rule that keeps "none" when the model is already calibrated and sigmoid's two parameters when
isotonic's steps do not pay.

Where the out-of-fold PDs come from (:func:`calibration_plan`): K-fold cross-fitting of the
whole pipeline up to CROSS_FIT_MAX_ROWS training loans (5 folds up to 20,000, then 3);
above, one stratified calibration slice of HOLDOUT_SHARE of the loans that the final model is
not fitted on (at 1M loans, 10% fewer training rows cost nothing measurable and save 3 fits).
Below 300,000 the slice has too little power: on the tutorial's make_classification shape
(100,000 x 10) an 8,000-loan slice kept "none" and the lowest grade's PDs stayed too low for
the per-grade Jeffreys light (Holm p 1e-4, red); 3-fold cross-fitting chose isotonic and every
light was green, for 2.3 s more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from pd_lib.config import CALIBRATION_METHODS
from pd_lib.probability import expected_calibration_error, logit, row_log_loss

METHODS = CALIBRATION_METHODS
SIMPLICITY = ("none", "sigmoid", "isotonic")
CALIBRATION_FOLDS = 5
CROSS_FIT_MAX_ROWS = 300_000
FIVE_FOLD_MAX_ROWS = 20_000  # beyond, 3 folds leave thousands of defaults per fold
HOLDOUT_SHARE = 0.1
# Isotonic blocks without defaults would give PD 0 (infinite log loss on a later default).
ISOTONIC_FLOOR = 1e-4


@dataclass(frozen=True)
class Plan:
    """How out-of-fold PDs are made: ``folds`` > 1 cross-fits; ``folds`` == 1 holds out
    ``holdout_share`` of the rows (the final model is then fitted on the rest only)."""

    folds: int
    holdout_share: float = 0.0


def check_method(method: str) -> None:
    """``method`` must be one of METHODS."""
    if method not in METHODS:
        raise ValueError(f"calibration must be one of {', '.join(METHODS)}; got '{method}'.")


def calibration_plan(n_rows: int) -> Plan:
    """Cross-fitting folds (or a held-out slice) for a training sample of ``n_rows``."""
    if n_rows <= FIVE_FOLD_MAX_ROWS:
        return Plan(folds=5)
    if n_rows <= CROSS_FIT_MAX_ROWS:
        return Plan(folds=3)
    return Plan(folds=1, holdout_share=HOLDOUT_SHARE)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def logistic_fit(z: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Unpenalised maximum-likelihood (a, b) of P(y=1) = sigmoid(a z + b), by Newton's method
    (deterministic; ~1 ms per 100,000 rows and iteration). On z = logit(PD), ``a`` is the
    calibration slope."""
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    a, b = 1.0, float(np.log(rate / (1 - rate)) - z.mean())
    for _ in range(iterations):
        p = _sigmoid(a * z + b)
        w = p * (1.0 - p) + 1e-12
        g = np.array([np.dot(z, y - p), np.sum(y - p)])
        h = np.array([[np.dot(w * z, z), np.dot(w, z)], [np.dot(w, z), w.sum()]])
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        a, b = a + float(step[0]), b + float(step[1])
        if np.max(np.abs(step)) < 1e-9:
            break
    return a, b


def fit_map(method: str, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The parameters of ``method`` fitted on raw PDs ``raw`` and default flags ``y``."""
    if method == "none":
        return {}
    if method == "sigmoid":
        a, b = logistic_fit(logit(raw), y)
        return {"a": a, "b": b}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=ISOTONIC_FLOOR, y_max=1 - ISOTONIC_FLOOR,
                                 out_of_bounds="clip").fit(raw, y)
        return {"x": np.asarray(iso.X_thresholds_, dtype=float),
                "y": np.asarray(iso.y_thresholds_, dtype=float)}
    raise ValueError(f"unknown calibration method '{method}'.")


def apply_map(method: str, params: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Calibrated PDs of raw PDs ``raw`` under a fitted map."""
    raw = np.asarray(raw, dtype=float)
    if method == "none":
        return raw
    if method == "sigmoid":
        return _sigmoid(params["a"] * logit(raw) + params["b"])
    if method == "isotonic":
        return np.interp(raw, params["x"], params["y"])
    raise ValueError(f"unknown calibration method '{method}'.")


def summary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Calibration slope, ECE and log loss of PDs ``p`` against flags ``y``."""
    return {"slope": logistic_fit(logit(p), y)[0], "ece": expected_calibration_error(y, p),
            "log_loss": float(row_log_loss(y, p).mean())}


def cross_fitted(method: str, raw: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """PDs of ``method`` on each of CALIBRATION_FOLDS folds, its map fitted on the others."""
    out = np.empty_like(raw, dtype=float)
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    for fit_rows, score_rows in folds.split(raw.reshape(-1, 1), y):
        out[score_rows] = apply_map(method, fit_map(method, raw[fit_rows], y[fit_rows]),
                                    raw[score_rows])
    return out


def choose_calibration(
    raw: np.ndarray, y: np.ndarray, method: str = "auto", seed: int = 42
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(method, map parameters fitted on all of ``raw``, report) for out-of-fold raw PDs.

    The report holds the cross-validated log loss of each method tried
    (``cv_log_loss_<method>``), ``method``, and before/after slope, ECE and log loss on the
    out-of-fold PDs (after = cross-fitted, so not flattered by fitting the map on them).
    """
    check_method(method)
    raw = np.clip(np.asarray(raw, dtype=float), 0.0, 1.0)
    y = np.asarray(y, dtype=int)
    tried = SIMPLICITY if method == "auto" else ("none", method) if method != "none" else (
        "none",)
    losses = {m: row_log_loss(y, cross_fitted(m, raw, y, seed)) if m != "none"
              else row_log_loss(y, raw) for m in tried}
    chosen = tried[0]
    for candidate in tried[1:]:
        if method != "auto":
            chosen = candidate  # the user's choice, reported against "none"
            break
        gain = losses[chosen] - losses[candidate]
        if gain.mean() > gain.std(ddof=1) / np.sqrt(gain.size):
            chosen = candidate
    after = cross_fitted(chosen, raw, y, seed) if chosen != "none" else raw
    before_stats, after_stats = summary(y, raw), summary(y, after)
    report: dict[str, Any] = {"method": chosen, "rows": int(y.size)}
    report.update({f"cv_log_loss_{m}": float(v.mean()) for m, v in losses.items()})
    report.update({f"{k}_before": v for k, v in before_stats.items()})
    report.update({f"{k}_after": v for k, v in after_stats.items()})
    return chosen, fit_map(chosen, raw, y), report
