"""Arithmetic of probabilities shared by modelling (calibration) and validation (metrics)."""

from __future__ import annotations

import numpy as np

# PDs are clipped into [PD_CLIP, 1 - PD_CLIP] wherever a logit or a log is taken.
PD_CLIP = 1e-6
DEFAULT_BINS = 10
# The attribute a fitted model's default odds are divided by (set when it was fitted on a
# stratified sample of a larger book; absent, 1: the model's own PDs).
BOOK_ODDS_FACTOR = "book_odds_factor_"


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), p clipped into [PD_CLIP, 1 - PD_CLIP]."""
    p = np.clip(np.asarray(p, dtype=float), PD_CLIP, 1.0 - PD_CLIP)
    return np.log(p) - np.log1p(-p)


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each loan's negative log-likelihood of its flag under its PD (PD clipped)."""
    p = np.clip(np.asarray(p, dtype=float), PD_CLIP, 1.0 - PD_CLIP)
    y = np.asarray(y, dtype=float)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def quantile_groups(pd_pred: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Row indices in ``n_groups`` groups of (almost) equal size by ascending PD."""
    order = np.argsort(pd_pred, kind="mergesort")
    return [g for g in np.array_split(order, min(n_groups, len(order))) if g.size]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = DEFAULT_BINS
                               ) -> float:
    """Row-weighted mean |mean PD - observed rate| over ``n_bins`` equal-count PD bins.

    Equal-count rather than equal-width bins: PDs crowd below 0.2, where equal-width bins
    would put nearly every loan into the first one.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    groups = quantile_groups(p, n_bins)
    return float(sum(g.size * abs(p[g].mean() - y[g].mean()) for g in groups) / y.size)


def odds_divided(p: np.ndarray, factor: float) -> np.ndarray:
    """PDs whose default odds are divided by ``factor``: a model fitted on a sample whose
    defaults were kept ``factor`` times as often as its other loans, brought back to the book
    (pd_lib.data.lake). ``p`` itself when the factor is 1."""
    if factor == 1.0:
        return p
    p = np.asarray(p, dtype=float)
    return p / (p + (1.0 - p) * factor)
