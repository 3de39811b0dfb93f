"""Calibration: Brier score, log loss, calibration-in-the-large, slope and intercept,
expected calibration error, and Hosmer-Lemeshow on the whole sample and on random
subsamples."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from pd_lib import probability
from pd_lib.config import (
    HL_GROUPS,
    HL_MIN_EXPECTED,
    HL_SUBSAMPLE_ALPHA,
    HL_SUBSAMPLE_LOANS,
    HL_SUBSAMPLE_SEED,
    HL_SUBSAMPLES,
)
from pd_lib.probability import DEFAULT_BINS, PD_CLIP
from pd_lib.validation.inputs import both_classes, checked_arrays, perfectly_separated


def brier_score(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Mean squared difference between PD and default flag (lower is better)."""
    return float(brier_score_loss(y_true, pd_pred))


def logarithmic_loss(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Mean negative log-likelihood of the flags under the PDs, PDs clipped to [1e-6, 1-1e-6]."""
    y, p = checked_arrays(y_true, pd_pred)
    return float(log_loss(y, np.clip(p, PD_CLIP, 1.0 - PD_CLIP), labels=[0, 1]))


def calibration_in_the_large(y_true: np.ndarray, pd_pred: np.ndarray) -> dict[str, float]:
    """Mean PD against the observed default rate: both, their gap, and the gap relative to
    the observed rate (positive = PDs too high, conservative; negative = too low)."""
    y, p = checked_arrays(y_true, pd_pred)
    return calibration_in_the_large_from_means(float(p.mean()), float(y.mean()))


def calibration_in_the_large_from_means(mean_pd: float, observed: float) -> dict[str, float]:
    """:func:`calibration_in_the_large` from the mean PD and the observed default rate."""
    return {
        "mean_pd": mean_pd,
        "observed_default_rate": observed,
        "calibration_in_the_large": mean_pd - observed,
        "calibration_in_the_large_relative": (mean_pd - observed) / observed
        if observed > 0 else float("nan"),
    }


def calibration_slope_intercept(y_true: np.ndarray, pd_pred: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the unpenalised logistic regression of the flags on logit(PD).

    Perfect calibration gives slope 1 and intercept 0; a slope below 1 means the PDs are too
    extreme (typical of overfitting), above 1 too timid. (NaN, NaN), not defined, when a
    class is missing or logit(PD) separates the classes: no maximum-likelihood fit exists.
    """
    y, p = checked_arrays(y_true, pd_pred)
    if not both_classes(y) or perfectly_separated(y, p):
        return float("nan"), float("nan")
    fit = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-10)
    fit.fit(probability.logit(p).reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def expected_calibration_error(
    y_true: np.ndarray, pd_pred: np.ndarray, n_bins: int = DEFAULT_BINS
) -> float:
    """Row-weighted mean |mean PD - observed rate| over ``n_bins`` PD bins of about equal
    count, cut at the PD values' quantiles (:func:`value_groups`: tied PDs share a bin, so
    the result does not depend on row order).

    Equal-count rather than equal-width bins: PDs crowd below 0.2, where equal-width bins
    would put nearly every loan into the first one.
    """
    y, p = checked_arrays(y_true, pd_pred)
    group = value_groups(p, n_bins)
    k = int(group.max()) + 1
    gap = np.abs(np.bincount(group, weights=p, minlength=k) - np.bincount(group, weights=y,
                                                                          minlength=k))
    return float(gap.sum() / y.size)


def value_groups(pd_pred: np.ndarray, n_groups: int = HL_GROUPS) -> np.ndarray:
    """Group number (0, 1, ...) of each row: cut points at the ``n_groups``-quantiles of the
    PD values, group i holding every PD in (cut[i-1], cut[i]]. Tied PDs always share a group,
    so the groups do not depend on row order."""
    p = np.asarray(pd_pred, dtype=float)
    cuts = np.unique(np.quantile(p, np.linspace(0, 1, n_groups + 1)[1:-1]))
    _, dense = np.unique(np.searchsorted(cuts, p, side="left"), return_inverse=True)
    return dense.ravel()


def merge_groups(expected: np.ndarray, sizes: np.ndarray,
                 min_expected: float = HL_MIN_EXPECTED) -> np.ndarray:
    """Merged group number of each input group (ordered by PD): adjacent groups pooled from
    low to high PD until both expected defaults and expected non-defaults reach
    ``min_expected``; a short last group joins the one before."""
    merged = np.zeros(len(expected), dtype=int)
    current, e, n = 0, 0.0, 0.0
    for i, (e_i, n_i) in enumerate(zip(expected, sizes, strict=True)):
        merged[i] = current
        e, n = e + e_i, n + n_i
        if e >= min_expected and n - e >= min_expected and i < len(expected) - 1:
            current, e, n = current + 1, 0.0, 0.0
    if current > 0 and (e < min_expected or n - e < min_expected):
        merged[merged == current] = current - 1
    return merged


def hosmer_lemeshow_test(
    y_true: np.ndarray, pd_pred: np.ndarray, n_groups: int = HL_GROUPS, dof_reduction: int = 0,
    min_expected: float = HL_MIN_EXPECTED,
) -> tuple[float, float, int]:
    """(statistic, p-value, groups used) of Hosmer-Lemeshow over tie-free PD groups merged
    to at least ``min_expected`` expected defaults and non-defaults each.

    H = sum_g (D_g - E_g)^2 / (E_g (1 - E_g / n_g)), chi-squared with (groups used -
    ``dof_reduction``) degrees of freedom, at least 1. PDs scored on data the model did not
    see keep every degree of freedom (Hosmer & Lemeshow, Applied Logistic Regression, 2nd
    ed., 5.2.2); pass dof_reduction=2 for in-sample PDs. Not defined (NaN, NaN, 0) when the
    whole sample expects fewer than ``min_expected`` defaults or non-defaults.
    """
    y, p = checked_arrays(y_true, pd_pred)
    p = np.clip(p, PD_CLIP, 1.0 - PD_CLIP)
    if p.sum() < min_expected or p.size - p.sum() < min_expected:
        return float("nan"), float("nan"), 0
    first = value_groups(p, n_groups)
    k = int(first.max()) + 1
    sizes = np.bincount(first, minlength=k).astype(float)
    group = merge_groups(np.bincount(first, weights=p, minlength=k), sizes, min_expected)[first]
    g = int(group.max()) + 1
    e = np.bincount(group, weights=p, minlength=g)
    o = np.bincount(group, weights=y, minlength=g)
    n = np.bincount(group, minlength=g).astype(float)
    statistic = float(np.sum((o - e) ** 2 / (e * (1.0 - e / n))))
    return statistic, float(stats.chi2.sf(statistic, max(g - dof_reduction, 1))), g


def hosmer_lemeshow(
    y_true: np.ndarray, pd_pred: np.ndarray, n_groups: int = HL_GROUPS, dof_reduction: int = 0,
    min_expected: float = HL_MIN_EXPECTED,
) -> tuple[float, float]:
    """Hosmer-Lemeshow statistic and p-value (:func:`hosmer_lemeshow_test` without the group
    count). A small p-value means the PDs do not fit the observed defaults."""
    statistic, pvalue, _ = hosmer_lemeshow_test(y_true, pd_pred, n_groups, dof_reduction,
                                                min_expected)
    return statistic, pvalue


def subsample_rows(n: int, size: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` seeded random subsamples of ``size`` of the rows 0..n-1, drawn without
    replacement, each in ascending row order."""
    if not 0 < size < n:
        raise ValueError(f"size must be between 1 and n - 1 = {n - 1}; got {size}.")
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size, replace=False)) for _ in range(count)]


def hl_subsample_size(n: int, size: int = HL_SUBSAMPLE_LOANS) -> int:
    """Loans per HL subsample for a sample of ``n``: ``size``, but never more than half of
    n, so that just above ``size`` loans the subsamples are not the whole sample again (the
    share would be 0 or 1, "red when the full-sample p < alpha")."""
    return min(size, n // 2)


def canonical_order(y_true: np.ndarray, pd_pred: np.ndarray) -> np.ndarray:
    """Row order by (PD, flag): rows equal in both are interchangeable, so anything drawn
    in this order does not depend on the order the rows came in."""
    return np.lexsort((np.asarray(y_true), np.asarray(pd_pred)))


def hosmer_lemeshow_subsample_reject_share(
    y_true: np.ndarray,
    pd_pred: np.ndarray,
    size: int = HL_SUBSAMPLE_LOANS,
    count: int = HL_SUBSAMPLES,
    alpha: float = HL_SUBSAMPLE_ALPHA,
    seed: int = HL_SUBSAMPLE_SEED,
) -> float:
    """Share of ``count`` random subsamples of :func:`hl_subsample_size` loans whose
    Hosmer-Lemeshow p-value is below ``alpha``: the test at a size where it has sensible
    power (Bartley 2014). Drawn from the rows in :func:`canonical_order`, so the share does
    not depend on row order; subsamples where HL is not defined are left out (NaN if all).

    Calibrated PDs give about ``alpha``; above 0.10 the fit is suspect. ~0.1 s for 100
    subsamples of 5,000 from 20,000 or 200,000 loans, so a plain loop serves.
    """
    y, p = checked_arrays(y_true, pd_pred)
    order = canonical_order(y, p)
    y, p = y[order], p[order]
    rows = subsample_rows(y.size, hl_subsample_size(y.size, size), count, seed)
    pvalues = np.array([hosmer_lemeshow(y[r], p[r])[1] for r in rows])
    pvalues = pvalues[~np.isnan(pvalues)]
    return float(np.mean(pvalues < alpha)) if pvalues.size else float("nan")
