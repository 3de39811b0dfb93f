"""PD metrics: small pure functions of (observed default flags, predicted PDs).

Discrimination (AUC, Gini, KS), decisions at a threshold (accuracy, precision, recall, F1,
confusion counts), calibration (Brier, log loss, calibration-in-the-large, slope and
intercept, expected calibration error, Hosmer-Lemeshow on the whole sample and on random
subsamples), stability (PSI, CSI) and, on synthetic data, the distance to the true PD.
:func:`pd_metrics` gathers them under stable names; those names are what train and tune log
and what the traffic lights read.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from pd_lib import probability
from pd_lib.config import (
    AUC_CI_LEVEL,
    HL_GROUPS,
    HL_MIN_EXPECTED,
    HL_SUBSAMPLE_ALPHA,
    HL_SUBSAMPLE_LOANS,
    HL_SUBSAMPLE_SEED,
    HL_SUBSAMPLES,
    PD_FLOOR,
)
from pd_lib.errors import PipelineError
from pd_lib.probability import DEFAULT_BINS, PD_CLIP

# Added to every bin's count of both samples before PSI/CSI take shares (issue 28): the
# Haldane-Anscombe correction for the logarithm of a ratio of frequencies (Haldane 1956,
# Anscombe 1956), the posterior mean of the shares under Jeffreys' prior; keeps ln(a/r)
# finite where a bin is empty, and shrinks less as samples grow.
PSI_PSEUDO_COUNT = 0.5
# The category of a missing value in CSI.
MISSING_CATEGORY = "<missing>"


def _as_float(values: np.ndarray) -> np.ndarray:
    """``values`` as a flat float array, missing values (None, pd.NA, text) as NaN."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        flat = pd.Series(np.asarray(values, dtype=object).ravel())
        return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)


def check_flags(y_true: np.ndarray) -> np.ndarray:
    """The default flags as ints, or a PipelineError naming how many are missing or not 0/1
    (a missing flag must never be cast to an integer and counted)."""
    y = _as_float(y_true)
    other = y[~np.isnan(y) & (y != 0.0) & (y != 1.0)]
    check_flag_counts(y.size, int(np.isnan(y).sum()), other.size,
                      float(other[0]) if other.size else float("nan"))
    return y.astype(int)


def check_flag_counts(size: int, missing: int, other: int, example: float) -> None:
    """:func:`check_flags` from counts: of ``size`` flags, ``missing`` missing and ``other``
    neither 0 nor 1 (``example`` one of them)."""
    if missing:
        raise PipelineError(f"{missing} of {size} default flags are missing; every loan "
                            "needs a flag of 0 or 1 to be validated.")
    if other:
        raise PipelineError(f"{other} of {size} default flags are not 0 or 1 "
                            f"(e.g. {example:g}).")


def check_pds(pd_pred: np.ndarray) -> np.ndarray:
    """The PDs as floats, or a PipelineError naming how many are missing or outside [0, 1]."""
    p = _as_float(pd_pred)
    missing = int(np.isnan(p).sum())
    outside = int(((p < 0.0) | (p > 1.0)).sum())
    check_pd_counts(p.size, missing, outside, float(np.min(p)) if outside else 0.0,
                    float(np.max(p)) if outside else 0.0)
    return p


def check_pd_counts(size: int, missing: int, outside: int, low: float, high: float) -> None:
    """:func:`check_pds` from counts: of ``size`` PDs, ``missing`` missing and ``outside``
    outside [0, 1], the smallest ``low`` and the largest ``high``."""
    if missing:
        raise PipelineError(f"{missing} of {size} PDs are missing (NaN); the model must "
                            "score every loan.")
    if outside:
        raise PipelineError(f"{outside} of {size} PDs lie outside [0, 1] "
                            f"(min {low:.6g}, max {high:.6g}); a PD is a probability.")


def _arrays(y_true: np.ndarray, pd_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = check_flags(y_true), check_pds(pd_pred)
    if y.shape != p.shape:
        raise ValueError(f"y_true and pd_pred must have the same length; got {y.size}, {p.size}.")
    return y, p


def floor_pds(pd_pred: np.ndarray, floor: float = PD_FLOOR) -> np.ndarray:
    """max(PD, ``floor``): the PD every validation statistic reads (CRR Art. 160(1): 0.03%)."""
    return np.maximum(np.asarray(pd_pred, dtype=float), floor)


def both_classes(y_true: np.ndarray) -> bool:
    """Whether the sample holds at least one defaulter and one non-defaulter."""
    y = np.asarray(y_true)
    return bool(y.size) and 0 < int(y.sum()) < y.size


def perfectly_separated(y_true: np.ndarray, pd_pred: np.ndarray) -> bool:
    """Whether logit(PD) separates the classes (completely or quasi-completely): every
    defaulter's PD at or above every non-defaulter's, or the reverse. Then the maximum
    likelihood calibration slope does not exist (it runs to infinity)."""
    y, z = np.asarray(y_true), probability.logit(np.asarray(pd_pred, dtype=float))
    if not both_classes(y):
        return False
    bad, good = z[y == 1], z[y == 0]
    return bool(bad.min() >= good.max() or good.min() >= bad.max())


# --- discrimination ------------------------------------------------------------------------


def roc_auc(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Area under the ROC curve of the PDs against the default flags; NaN (not defined)
    when the sample lacks defaulters or non-defaulters."""
    if not both_classes(y_true):
        return float("nan")
    return float(roc_auc_score(y_true, pd_pred))


def gini(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio): 2 * AUC - 1."""
    return 2.0 * roc_auc(y_true, pd_pred) - 1.0


def _ks_gaps(y_true: np.ndarray, pd_pred: np.ndarray) -> np.ndarray:
    """TPR - FPR at every threshold."""
    y, p = _arrays(y_true, pd_pred)
    fpr, tpr, _ = roc_curve(y, p)
    return tpr - fpr


def ks_statistic(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Two-sided Kolmogorov-Smirnov statistic: the largest gap, either way, between the PD
    distributions (CDFs) of defaulters and non-defaulters, max |TPR - FPR| (scipy's
    ks_2samp); NaN when a class is missing. See :func:`ks_direction` for which way."""
    if not both_classes(check_flags(y_true)):
        return float("nan")
    return float(np.max(np.abs(_ks_gaps(y_true, pd_pred))))


def ks_direction(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """+1 when the largest KS gap has defaulters at higher PDs (the right way round), -1 when
    they sit at lower PDs (an inverted ranking); NaN when a class is missing."""
    if not both_classes(check_flags(y_true)):
        return float("nan")
    gaps = _ks_gaps(y_true, pd_pred)
    return 1.0 if gaps.max() >= -gaps.min() else -1.0


def delong_components(y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components per defaulter and per non-defaulter (midranks,
    so ties count 1/2; Sun & Xu 2014's fast form)."""
    bad, good = p[y == 1], p[y == 0]
    m, n = bad.size, good.size
    ranks = stats.rankdata(np.concatenate([bad, good]))
    auc = (ranks[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v_bad = (ranks[:m] - stats.rankdata(bad)) / n
    v_good = 1.0 - (ranks[m:] - stats.rankdata(good)) / m
    return float(auc), v_bad, v_good


def roc_auc_standard_error(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """DeLong, DeLong & Clarke-Pearson (1988) standard error of the AUC; NaN when a class
    is missing."""
    y, p = _arrays(y_true, pd_pred)
    if not both_classes(y):
        return float("nan")
    _, v_bad, v_good = delong_components(y, p)
    return float(np.sqrt(np.var(v_bad, ddof=1) / v_bad.size
                         + np.var(v_good, ddof=1) / v_good.size)) if min(
        v_bad.size, v_good.size) > 1 else float("nan")


def roc_auc_interval(
    y_true: np.ndarray, pd_pred: np.ndarray, level: float = AUC_CI_LEVEL
) -> tuple[float, float]:
    """Two-sided ``level`` confidence interval of the AUC, AUC +/- z * DeLong SE, cut to
    [0, 1]; (NaN, NaN) when not defined."""
    auc, se = roc_auc(y_true, pd_pred), roc_auc_standard_error(y_true, pd_pred)
    z = stats.norm.ppf(0.5 + level / 2.0)
    return float(max(auc - z * se, 0.0)), float(min(auc + z * se, 1.0))


# The AUC from a score histogram (issue 32: monitoring on Spark returns aggregates, not rows).
# A PD falls into bin floor(sqrt(PD) * SCORE_BINS), the last bin closed at 1: sqrt and the
# product by a power of two are exact IEEE operations (correctly rounded) in numpy and in Java,
# so pandas and Spark put every PD into the same bin. The square root spreads the low PDs where
# portfolios crowd: a bin is about 2 * sqrt(PD) / SCORE_BINS wide (5e-7 near the 0.03% floor,
# 7e-6 at PD 0.05).
SCORE_BINS = 2 ** 16


def score_bins(pd_pred: np.ndarray, n_bins: int = SCORE_BINS) -> np.ndarray:
    """The histogram bin of each PD in [0, 1]: floor(sqrt(PD) * ``n_bins``), at most
    ``n_bins`` - 1."""
    return np.minimum(np.floor(np.sqrt(np.asarray(pd_pred, dtype=float)) * n_bins),
                      n_bins - 1).astype(np.int64)


def score_histogram(y_true: np.ndarray, pd_pred: np.ndarray, n_bins: int = SCORE_BINS
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Defaulters and non-defaulters per score bin (:func:`score_bins`), as two arrays."""
    y, p = _arrays(y_true, pd_pred)
    bins = score_bins(p, n_bins)
    return (np.bincount(bins[y == 1], minlength=n_bins).astype(float),
            np.bincount(bins[y == 0], minlength=n_bins).astype(float))


def histogram_discrimination(bad: np.ndarray, good: np.ndarray, level: float = AUC_CI_LEVEL
                             ) -> dict[str, float]:
    """The keys of :func:`discrimination_metrics` from defaulters ``bad`` and non-defaulters
    ``good`` per ordered score bin, the PDs of one bin taken as tied: the AUC (ties 1/2), its
    DeLong standard error and interval, Gini, KS and its direction, all exact for that binned
    score. Against the unbinned PDs the AUC is off by at most ``roc_auc_error_bound`` = half
    the share of (defaulter, non-defaulter) pairs within one bin, sum_b B_b G_b / (2 m n), and
    the KS by at most ``ks_error_bound`` = max_b max(B_b / m, G_b / n). NaN without both
    classes."""
    bad, good = np.asarray(bad, dtype=float), np.asarray(good, dtype=float)
    m, n = bad.sum(), good.sum()
    names = ("roc_auc", "roc_auc_se", "roc_auc_ci_lower", "roc_auc_ci_upper", "gini",
             "gini_ci_lower", "gini_ci_upper", "ks", "ks_direction", "roc_auc_error_bound",
             "ks_error_bound")
    if m == 0 or n == 0:
        return dict.fromkeys(names, float("nan"))
    good_below = np.cumsum(good) - good
    bad_above = m - np.cumsum(bad)
    v_bad = (good_below + 0.5 * good) / n     # DeLong's component of a defaulter in each bin
    v_good = (bad_above + 0.5 * bad) / m      # ... and of a non-defaulter
    auc = float(np.sum(bad * v_bad) / m)
    se = float("nan")
    if m > 1 and n > 1:
        var_bad = np.sum(bad * (v_bad - auc) ** 2) / (m - 1)
        var_good = np.sum(good * (v_good - auc) ** 2) / (n - 1)
        se = float(np.sqrt(var_bad / m + var_good / n))
    z = stats.norm.ppf(0.5 + level / 2.0)
    low, high = float(max(auc - z * se, 0.0)), float(min(auc + z * se, 1.0))
    # TPR - FPR at every threshold from the top bin down, and at "nothing above" (0, 0)
    gaps = np.append(np.cumsum(bad[::-1]) / m - np.cumsum(good[::-1]) / n, 0.0)
    return {"roc_auc": auc, "roc_auc_se": se, "roc_auc_ci_lower": low, "roc_auc_ci_upper": high,
            "gini": 2.0 * auc - 1.0, "gini_ci_lower": 2.0 * low - 1.0,
            "gini_ci_upper": 2.0 * high - 1.0, "ks": float(np.max(np.abs(gaps))),
            "ks_direction": 1.0 if gaps.max() >= -gaps.min() else -1.0,
            "roc_auc_error_bound": float(np.sum(bad * good) / (2.0 * m * n)),
            "ks_error_bound": float(max(np.max(bad) / m, np.max(good) / n))}


# --- decisions at a threshold --------------------------------------------------------------


def _labels(pd_pred: np.ndarray, threshold: float) -> np.ndarray:
    return (np.asarray(pd_pred, dtype=float) >= threshold).astype(int)


def confusion_counts(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> dict[str, int]:
    """Counts of true/false negatives/positives, predicting default when PD >= threshold."""
    tn, fp, fn, tp = confusion_matrix(y_true, _labels(pd_pred, threshold), labels=[0, 1]).ravel()
    return {"true_negatives": int(tn), "false_positives": int(fp),
            "false_negatives": int(fn), "true_positives": int(tp)}


def threshold_metrics(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> dict:
    """Accuracy, precision, recall and F1 of "default" at ``threshold`` (0 when undefined),
    with the confusion counts."""
    y, p = _arrays(y_true, pd_pred)
    labels = _labels(p, threshold)
    return {
        "accuracy": float(accuracy_score(y, labels)),
        "precision": float(precision_score(y, labels, zero_division=0)),
        "recall": float(recall_score(y, labels, zero_division=0)),
        "f1": float(f1_score(y, labels, zero_division=0)),
        **confusion_counts(y, p, threshold),
    }


# --- calibration ---------------------------------------------------------------------------


def brier_score(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Mean squared difference between PD and default flag (lower is better)."""
    return float(brier_score_loss(y_true, pd_pred))


def logarithmic_loss(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Mean negative log-likelihood of the flags under the PDs, PDs clipped to [1e-6, 1-1e-6]."""
    y, p = _arrays(y_true, pd_pred)
    return float(log_loss(y, np.clip(p, PD_CLIP, 1.0 - PD_CLIP), labels=[0, 1]))


def calibration_in_the_large(y_true: np.ndarray, pd_pred: np.ndarray) -> dict[str, float]:
    """Mean PD against the observed default rate: both, their gap, and the gap relative to
    the observed rate (positive = PDs too high, conservative; negative = too low)."""
    y, p = _arrays(y_true, pd_pred)
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
    y, p = _arrays(y_true, pd_pred)
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
    y, p = _arrays(y_true, pd_pred)
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
    y, p = _arrays(y_true, pd_pred)
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
    y, p = _arrays(y_true, pd_pred)
    order = canonical_order(y, p)
    y, p = y[order], p[order]
    rows = subsample_rows(y.size, hl_subsample_size(y.size, size), count, seed)
    pvalues = np.array([hosmer_lemeshow(y[r], p[r])[1] for r in rows])
    pvalues = pvalues[~np.isnan(pvalues)]
    return float(np.mean(pvalues < alpha)) if pvalues.size else float("nan")


# --- stability -----------------------------------------------------------------------------


def psi_from_counts(reference: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum (a - r) ln(a / r) over the bins either sample uses, the shares taken after
    adding PSI_PSEUDO_COUNT to every such bin's count in both samples (so they still sum
    to 1; a bin empty in both samples is no bin)."""
    reference, actual = np.asarray(reference, dtype=float), np.asarray(actual, dtype=float)
    used = (reference > 0) | (actual > 0)
    ref = smoothed_shares(reference[used])
    act = smoothed_shares(actual[used])
    return float(np.sum((act - ref) * np.log(act / ref)))


def smoothed_shares(counts: np.ndarray) -> np.ndarray:
    """Shares of ``counts`` with PSI_PSEUDO_COUNT added to each."""
    counts = counts + PSI_PSEUDO_COUNT
    return counts / counts.sum()


def quantile_bin_edges(reference: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges at the reference sample's quantiles (duplicates dropped)."""
    reference = np.asarray(reference, dtype=float)
    reference = reference[~np.isnan(reference)]
    if reference.size == 0:
        return np.array([])
    quantiles = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(quantiles)


def binned_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (right-closed at the edges), with a last bin for missing values."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(bins, minlength=edges.size + 1).astype(float)
    return np.append(counts, missing.sum())


def population_stability_index(
    reference: np.ndarray,
    actual: np.ndarray,
    n_bins: int = DEFAULT_BINS,
) -> float:
    """PSI = sum (a - r) ln(a / r) over bins cut at the reference sample's quantiles.

    Missing values form a bin of their own; shares as :func:`psi_from_counts` smooths them.
    Rules of thumb: below 0.10 stable, 0.10-0.25 some shift, above 0.25 a shifted population.
    """
    check_stability_sides(np.asarray(reference, dtype=float), np.asarray(actual, dtype=float))
    edges = quantile_bin_edges(reference, n_bins)
    return psi_from_counts(binned_counts(reference, edges), binned_counts(actual, edges))


def check_stability_sides(reference: np.ndarray, actual: np.ndarray, what: str = "PSI") -> None:
    """PSI and CSI compare two samples of values: refuse an empty side, or a side with no
    value at all (every one missing), instead of returning a number that means nothing (an
    empty sample gave 6.90, an all-missing reference 18.42, both all-missing 0.0)."""
    for side, values in (("reference", reference), ("actual", actual)):
        if values.size == 0:
            raise PipelineError(f"{what}: the {side} sample is empty; compare samples with rows.")
        if np.isnan(values).all():
            raise PipelineError(f"{what}: every value of the {side} sample is missing; there is "
                                "no distribution to compare.")


def check_count_sides(reference: np.ndarray, actual: np.ndarray, what: str) -> None:
    """:func:`check_stability_sides` on counts per bin whose last bin counts missing values."""
    for side, counts in (("reference", reference), ("actual", actual)):
        if counts.sum() == 0:
            raise PipelineError(f"{what}: the {side} sample is empty; compare samples with rows.")
        if counts[:-1].sum() == 0:
            raise PipelineError(f"{what}: every value of the {side} sample is missing; there is "
                                "no distribution to compare.")


def category_labels(values: pd.Series) -> pd.Series:
    """The category CSI counts for each value: its text, missing values '<missing>'."""
    return values.astype("object").fillna(MISSING_CATEGORY).astype(str)


def aligned_category_counts(reference: dict[str, float], actual: dict[str, float]
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Counts per category of either (sorted), from category -> count of each side."""
    categories = sorted(set(reference) | set(actual))
    return (np.array([reference.get(c, 0) for c in categories], dtype=float),
            np.array([actual.get(c, 0) for c in categories], dtype=float))


def category_counts(reference: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reference and actual counts per category of either (missing values a category)."""
    return aligned_category_counts(category_labels(reference).value_counts().to_dict(),
                                   category_labels(actual).value_counts().to_dict())


def categorical_stability_index(reference: pd.Series, actual: pd.Series) -> float:
    """PSI over the categories of a categorical feature (missing values as a category)."""
    return psi_from_counts(*category_counts(reference, actual))


def feature_counts(reference: pd.Series, actual: pd.Series, n_bins: int = DEFAULT_BINS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Reference and actual counts per bin, as CSI cuts them: numbers by the reference's
    quantiles with a bin for missing values, anything else by category. An empty side, or
    a numeric side with every value missing, is refused naming the characteristic."""
    what = f"CSI of {reference.name}"
    if not is_numeric(reference):
        if reference.empty or actual.empty:
            raise PipelineError(f"{what}: a sample is empty; compare samples with rows.")
        return category_counts(reference, actual)
    ref = reference.to_numpy(dtype=float)
    check_stability_sides(ref, pd.to_numeric(actual, errors="coerce").to_numpy(dtype=float),
                          what)
    edges = quantile_bin_edges(ref, n_bins)
    return binned_counts(ref, edges), binned_counts(actual.to_numpy(dtype=float), edges)


def is_numeric(series: pd.Series) -> bool:
    """Whether CSI cuts ``series`` into quantile bins (numbers, not booleans) rather than
    counting its categories."""
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def characteristic_stability(
    reference: pd.DataFrame, actual: pd.DataFrame, features: list[str], n_bins: int = DEFAULT_BINS
) -> dict[str, float]:
    """CSI per feature: PSI of its distribution, quantile bins (numeric) or categories."""
    return {name: psi_from_counts(*feature_counts(reference[name], actual[name], n_bins))
            for name in features}


def metric_key(name: str) -> str:
    """``name`` made safe for an MLflow metric key (letters, digits, _ - . / space)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(name))


def stability_metrics(
    reference_pd: np.ndarray,
    actual_pd: np.ndarray,
    reference: pd.DataFrame,
    actual: pd.DataFrame,
    features: list[str],
) -> dict[str, float]:
    """``psi`` of the PDs, ``csi_<feature>`` per feature and ``csi_max`` (reference -> actual)."""
    result = {"psi": population_stability_index(reference_pd, actual_pd)}
    csi = characteristic_stability(reference, actual, features)
    result.update({f"csi_{metric_key(k)}": v for k, v in csi.items()})
    if csi:
        result["csi_max"] = max(csi.values())
    return result


# --- against the true PD (synthetic data) --------------------------------------------------


def oracle_metrics(
    y_true: np.ndarray, pd_pred: np.ndarray, true_pd: np.ndarray
) -> dict[str, float]:
    """How close the model is to the best possible: the true PD's own AUC, the model's AUC
    shortfall against it, and the PDs' mean absolute error and bias against the true PDs.

    Two slopes separate the model's calibration from the sample's luck: the true PD's own
    calibration slope on these outcomes (``oracle_calibration_slope``: how far from 1 a
    perfect model lands on this sample), and ``calibration_slope_vs_true_pd``, the slope of
    logit(true PD) on logit(PD) (1: as spread as the truth, < 1 over-confident), which no
    outcome noise enters.
    """
    y, p = _arrays(y_true, pd_pred)
    truth = np.asarray(true_pd, dtype=float).ravel()
    oracle_auc = roc_auc(y, truth)
    return {
        "oracle_roc_auc": oracle_auc,
        "oracle_gini": 2.0 * oracle_auc - 1.0,
        "roc_auc_gap_to_oracle": oracle_auc - roc_auc(y, p),
        "pd_mae_vs_true_pd": float(np.mean(np.abs(p - truth))),
        "pd_bias_vs_true_pd": float(np.mean(p - truth)),
        "oracle_calibration_slope": calibration_slope_intercept(y, truth)[0],
        "calibration_slope_vs_true_pd": slope_vs_true_pd(p, truth),
    }


def slope_vs_true_pd(pd_pred: np.ndarray, true_pd: np.ndarray) -> float:
    """Least-squares slope of logit(true PD) on logit(PD); NaN when the PDs are all equal."""
    x, t = probability.logit(np.asarray(pd_pred, float)), probability.logit(
        np.asarray(true_pd, float))
    spread = float(np.var(x))
    return float(np.cov(x, t, bias=True)[0, 1] / spread) if spread > 0 else float("nan")


# --- all together --------------------------------------------------------------------------


def discrimination_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """roc_auc with its DeLong standard error and interval, gini with its interval, the
    two-sided ks and its direction; all NaN (not defined) when a class is missing."""
    auc = roc_auc(y, p)
    low, high = roc_auc_interval(y, p)
    ks, direction = float("nan"), float("nan")
    if both_classes(y):  # one ROC curve for both (800,000 training rows: 0.3 s each)
        gaps = _ks_gaps(y, p)
        ks = float(np.max(np.abs(gaps)))
        direction = 1.0 if gaps.max() >= -gaps.min() else -1.0
    return {"roc_auc": auc, "roc_auc_se": roc_auc_standard_error(y, p),
            "roc_auc_ci_lower": low, "roc_auc_ci_upper": high,
            "gini": 2.0 * auc - 1.0, "gini_ci_lower": 2.0 * low - 1.0,
            "gini_ci_upper": 2.0 * high - 1.0, "ks": ks, "ks_direction": direction}


def not_defined(y_true: np.ndarray, pd_pred: np.ndarray) -> dict[str, str]:
    """Metric name -> why it is not defined on this sample (NaN in :func:`pd_metrics`)."""
    y, p = _arrays(y_true, pd_pred)
    reasons: dict[str, str] = {}
    if not both_classes(y):
        why = "the sample has no defaults" if y.sum() == 0 else "every loan defaulted"
        names = ["roc_auc", "roc_auc_se", "roc_auc_ci_lower", "roc_auc_ci_upper", "gini",
                 "gini_ci_lower", "gini_ci_upper", "ks", "ks_direction", "calibration_slope",
                 "calibration_intercept"]
        if y.sum() == 0:
            names.append("calibration_in_the_large_relative")
        reasons.update(dict.fromkeys(names, why))
    elif perfectly_separated(y, p):
        reasons.update(dict.fromkeys(
            ["calibration_slope", "calibration_intercept"],
            "the PDs separate defaulters from non-defaulters perfectly: no slope estimate"))
    pf = np.clip(p, PD_CLIP, 1.0 - PD_CLIP)
    if pf.sum() < HL_MIN_EXPECTED or pf.size - pf.sum() < HL_MIN_EXPECTED:
        reasons.update(dict.fromkeys(
            ["hosmer_lemeshow_stat", "hosmer_lemeshow_pvalue"],
            f"the sample expects fewer than {HL_MIN_EXPECTED:g} defaults or non-defaults"))
    return reasons


def pd_metrics(
    y_true: np.ndarray,
    pd_pred: np.ndarray,
    threshold: float,
    true_pd: np.ndarray | None = None,
    pd_floor: float = PD_FLOOR,
) -> dict[str, float]:
    """Every discrimination, decision and calibration metric of one sample, by stable name,
    on the PDs floored at ``pd_floor``. NaN where a metric is not defined
    (:func:`not_defined` says why); flags and PDs are checked first (:func:`check_flags`,
    :func:`check_pds`).

    Names: roc_auc, roc_auc_se, roc_auc_ci_lower, roc_auc_ci_upper, gini, gini_ci_lower,
    gini_ci_upper, ks, ks_direction, accuracy, precision, recall, f1, true_negatives,
    false_positives, false_negatives, true_positives, brier_score, log_loss, mean_pd,
    observed_default_rate, calibration_in_the_large(_relative), calibration_slope,
    calibration_intercept, perfect_separation, expected_calibration_error,
    hosmer_lemeshow_stat, hosmer_lemeshow_pvalue, hosmer_lemeshow_groups, n_loans,
    n_defaults; above HL_SUBSAMPLE_LOANS loans also hosmer_lemeshow_subsample_reject_share;
    with ``true_pd`` also oracle_roc_auc, oracle_gini, roc_auc_gap_to_oracle,
    pd_mae_vs_true_pd, pd_bias_vs_true_pd.
    """
    y, p = _arrays(y_true, pd_pred)
    p = floor_pds(p, pd_floor)
    slope, intercept = calibration_slope_intercept(y, p)
    hl_stat, hl_pvalue, hl_groups = hosmer_lemeshow_test(y, p)
    result: dict[str, float] = {
        "n_loans": float(y.size),
        "n_defaults": float(y.sum()),
        **discrimination_metrics(y, p),
        **{k: float(v) for k, v in threshold_metrics(y, p, threshold).items()},
        "brier_score": brier_score(y, p),
        "log_loss": logarithmic_loss(y, p),
        **calibration_in_the_large(y, p),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "perfect_separation": float(perfectly_separated(y, p)),
        "expected_calibration_error": expected_calibration_error(y, p),
        "hosmer_lemeshow_stat": hl_stat,
        "hosmer_lemeshow_pvalue": hl_pvalue,
        "hosmer_lemeshow_groups": float(hl_groups),
    }
    if y.size > HL_SUBSAMPLE_LOANS:
        result["hosmer_lemeshow_subsample_reject_share"] = hosmer_lemeshow_subsample_reject_share(
            y, p)
    if true_pd is not None:
        result.update(oracle_metrics(y, p, true_pd))
    return result


def derived_metrics(results: dict[str, float]) -> dict[str, float]:
    """Comparisons the traffic lights read, from metrics already in ``results``:
    train_holdout_roc_auc_gap = train AUC - holdout AUC (overfitting) and
    oot_roc_auc_drop = holdout AUC - out-of-time AUC."""
    derived = {}
    if "train_roc_auc" in results and "roc_auc" in results:
        derived["train_holdout_roc_auc_gap"] = results["train_roc_auc"] - results["roc_auc"]
    if "oot_roc_auc" in results and "roc_auc" in results:
        derived["oot_roc_auc_drop"] = results["roc_auc"] - results["oot_roc_auc"]
    return derived
