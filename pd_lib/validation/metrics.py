"""PD metrics of one sample under the stable names train and tune log and the traffic
lights read (:func:`pd_metrics`), gathered from the concept modules beside it:
:mod:`inputs` (checks of flags and PDs), :mod:`discrimination`, :mod:`decisions` (at a
threshold), :mod:`calibration`, :mod:`stability` (PSI, CSI) and :mod:`oracle` (against
the true PD of synthetic data). Each is small pure functions of (observed default
flags, predicted PDs)."""

from __future__ import annotations

import numpy as np

from pd_lib.config import HL_MIN_EXPECTED, HL_SUBSAMPLE_LOANS, PD_FLOOR
from pd_lib.probability import PD_CLIP
from pd_lib.validation.calibration import (
    brier_score,
    calibration_in_the_large,
    calibration_slope_intercept,
    expected_calibration_error,
    hosmer_lemeshow_subsample_reject_share,
    hosmer_lemeshow_test,
    logarithmic_loss,
)
from pd_lib.validation.decisions import threshold_metrics
from pd_lib.validation.discrimination import (
    ks_gaps,
    roc_auc,
    roc_auc_interval,
    roc_auc_standard_error,
)
from pd_lib.validation.inputs import both_classes, checked_arrays, floor_pds, perfectly_separated
from pd_lib.validation.oracle import oracle_metrics


def discrimination_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """roc_auc with its DeLong standard error and interval, gini with its interval, the
    two-sided ks and its direction; all NaN (not defined) when a class is missing."""
    auc = roc_auc(y, p)
    low, high = roc_auc_interval(y, p)
    ks, direction = float("nan"), float("nan")
    if both_classes(y):  # one ROC curve for both (800,000 training rows: 0.3 s each)
        gaps = ks_gaps(y, p)
        ks = float(np.max(np.abs(gaps)))
        direction = 1.0 if gaps.max() >= -gaps.min() else -1.0
    return {"roc_auc": auc, "roc_auc_se": roc_auc_standard_error(y, p),
            "roc_auc_ci_lower": low, "roc_auc_ci_upper": high,
            "gini": 2.0 * auc - 1.0, "gini_ci_lower": 2.0 * low - 1.0,
            "gini_ci_upper": 2.0 * high - 1.0, "ks": ks, "ks_direction": direction}


def not_defined(y_true: np.ndarray, pd_pred: np.ndarray) -> dict[str, str]:
    """Metric name -> why it is not defined on this sample (NaN in :func:`pd_metrics`)."""
    y, p = checked_arrays(y_true, pd_pred)
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
    y, p = checked_arrays(y_true, pd_pred)
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
