"""Discrimination: ROC AUC with its DeLong standard error and interval, Gini, KS and
its direction, and the score histogram from which both engines compute them on large
books (pd_lib.mlflow_layer.scoring.spark_monitoring reduces a period to it)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from pd_lib.config import AUC_CI_LEVEL
from pd_lib.validation.inputs import both_classes, check_flags, checked_arrays


def roc_auc(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Area under the ROC curve of the PDs against the default flags; NaN (not defined)
    when the sample lacks defaulters or non-defaulters."""
    if not both_classes(y_true):
        return float("nan")
    return float(roc_auc_score(y_true, pd_pred))


def gini(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio): 2 * AUC - 1."""
    return 2.0 * roc_auc(y_true, pd_pred) - 1.0


def ks_gaps(y_true: np.ndarray, pd_pred: np.ndarray) -> np.ndarray:
    """TPR - FPR at every threshold."""
    y, p = checked_arrays(y_true, pd_pred)
    fpr, tpr, _ = roc_curve(y, p)
    return tpr - fpr


def ks_statistic(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Two-sided Kolmogorov-Smirnov statistic: the largest gap, either way, between the PD
    distributions (CDFs) of defaulters and non-defaulters, max |TPR - FPR| (scipy's
    ks_2samp); NaN when a class is missing. See :func:`ks_direction` for which way."""
    if not both_classes(check_flags(y_true)):
        return float("nan")
    return float(np.max(np.abs(ks_gaps(y_true, pd_pred))))


def ks_direction(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """+1 when the largest KS gap has defaulters at higher PDs (the right way round), -1 when
    they sit at lower PDs (an inverted ranking); NaN when a class is missing."""
    if not both_classes(check_flags(y_true)):
        return float("nan")
    gaps = ks_gaps(y_true, pd_pred)
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
    y, p = checked_arrays(y_true, pd_pred)
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
    y, p = checked_arrays(y_true, pd_pred)
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
