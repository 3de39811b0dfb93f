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
    HL_SUBSAMPLE_ALPHA,
    HL_SUBSAMPLE_LOANS,
    HL_SUBSAMPLE_SEED,
    HL_SUBSAMPLES,
)
from pd_lib.probability import DEFAULT_BINS, PD_CLIP, quantile_groups

# Share added to empty bins in PSI/CSI so ln(a/r) stays finite.
PSI_EPSILON = 1e-4


def _arrays(y_true: np.ndarray, pd_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=int).ravel()
    p = np.asarray(pd_pred, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true and pd_pred must have the same length; got {y.size}, {p.size}.")
    return y, p


# --- discrimination ------------------------------------------------------------------------


def roc_auc(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Area under the ROC curve of the PDs against the default flags."""
    return float(roc_auc_score(y_true, pd_pred))


def gini(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio): 2 * AUC - 1."""
    return 2.0 * roc_auc(y_true, pd_pred) - 1.0


def ks_statistic(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the PD distributions (CDFs)
    of defaulters and non-defaulters, i.e. max(TPR - FPR) over all thresholds."""
    y, p = _arrays(y_true, pd_pred)
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


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
    mean_pd, observed = float(p.mean()), float(y.mean())
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
    extreme (typical of overfitting), above 1 too timid.
    """
    y, p = _arrays(y_true, pd_pred)
    fit = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-10)
    fit.fit(probability.logit(p).reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def expected_calibration_error(
    y_true: np.ndarray, pd_pred: np.ndarray, n_bins: int = DEFAULT_BINS
) -> float:
    """Row-weighted mean |mean PD - observed rate| over ``n_bins`` equal-count PD bins.

    Equal-count rather than equal-width bins: PDs crowd below 0.2, where equal-width bins
    would put nearly every loan into the first one.
    """
    y, p = _arrays(y_true, pd_pred)
    return probability.expected_calibration_error(y, p, n_bins)


def hosmer_lemeshow(
    y_true: np.ndarray, pd_pred: np.ndarray, n_groups: int = DEFAULT_BINS, dof_reduction: int = 0
) -> tuple[float, float]:
    """Hosmer-Lemeshow statistic and p-value over ``n_groups`` equal-count PD groups.

    H = sum_g (D_g - E_g)^2 / (E_g (1 - E_g / n_g)), chi-squared with n_groups -
    ``dof_reduction`` degrees of freedom. PDs scored on data the model did not see (a
    holdout) keep all n_groups degrees of freedom (Hosmer & Lemeshow, Applied Logistic
    Regression, 2nd ed., 5.2.2); pass dof_reduction=2 for PDs fitted on the same data.
    A small p-value means the PDs do not fit the observed defaults.
    """
    y, p = _arrays(y_true, pd_pred)
    p = np.clip(p, PD_CLIP, 1.0 - PD_CLIP)
    groups = quantile_groups(p, n_groups)
    statistic = 0.0
    for g in groups:
        expected, observed, n = p[g].sum(), y[g].sum(), g.size
        statistic += (observed - expected) ** 2 / (expected * (1.0 - expected / n))
    dof = max(len(groups) - dof_reduction, 1)
    return float(statistic), float(stats.chi2.sf(statistic, dof))


def subsample_rows(n: int, size: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` seeded random subsamples of ``size`` of the rows 0..n-1, drawn without
    replacement, each in ascending row order."""
    if not 0 < size < n:
        raise ValueError(f"size must be between 1 and n - 1 = {n - 1}; got {size}.")
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size, replace=False)) for _ in range(count)]


def hosmer_lemeshow_subsample_reject_share(
    y_true: np.ndarray,
    pd_pred: np.ndarray,
    size: int = HL_SUBSAMPLE_LOANS,
    count: int = HL_SUBSAMPLES,
    alpha: float = HL_SUBSAMPLE_ALPHA,
    seed: int = HL_SUBSAMPLE_SEED,
) -> float:
    """Share of ``count`` random subsamples of ``size`` loans whose Hosmer-Lemeshow p-value
    is below ``alpha``: the test at a size where it has sensible power (Bartley 2014).

    Calibrated PDs give about ``alpha``; above 0.10 the fit is suspect. ~0.1 s for 100
    subsamples of 5,000 from 20,000 or 200,000 loans, so a plain loop serves.
    """
    y, p = _arrays(y_true, pd_pred)
    rows = subsample_rows(y.size, size, count, seed)
    return float(np.mean([hosmer_lemeshow(y[r], p[r])[1] < alpha for r in rows]))


# --- stability -----------------------------------------------------------------------------


def _psi_from_shares(reference: np.ndarray, actual: np.ndarray, epsilon: float) -> float:
    reference = np.maximum(reference, epsilon)
    actual = np.maximum(actual, epsilon)
    return float(np.sum((actual - reference) * np.log(actual / reference)))


def quantile_bin_edges(reference: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges at the reference sample's quantiles (duplicates dropped)."""
    reference = np.asarray(reference, dtype=float)
    reference = reference[~np.isnan(reference)]
    if reference.size == 0:
        return np.array([])
    quantiles = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(quantiles)


def _binned_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares per bin (right-closed at the edges), with a last bin for missing values."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(bins, minlength=edges.size + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(values.size, 1)


def population_stability_index(
    reference: np.ndarray,
    actual: np.ndarray,
    n_bins: int = DEFAULT_BINS,
    epsilon: float = PSI_EPSILON,
) -> float:
    """PSI = sum (a - r) ln(a / r) over bins cut at the reference sample's quantiles.

    Missing values form a bin of their own; empty bins get ``epsilon`` share. Rules of thumb:
    below 0.10 stable, 0.10-0.25 some shift, above 0.25 a shifted population.
    """
    edges = quantile_bin_edges(reference, n_bins)
    return _psi_from_shares(
        _binned_shares(reference, edges), _binned_shares(actual, edges), epsilon
    )


def categorical_stability_index(
    reference: pd.Series, actual: pd.Series, epsilon: float = PSI_EPSILON
) -> float:
    """PSI over the categories of a categorical feature (missing values as a category)."""
    ref = reference.astype("object").fillna("<missing>").astype(str)
    act = actual.astype("object").fillna("<missing>").astype(str)
    categories = sorted(set(ref.unique()) | set(act.unique()))
    ref_shares = ref.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    act_shares = act.value_counts(normalize=True).reindex(categories, fill_value=0.0)
    return _psi_from_shares(ref_shares.to_numpy(), act_shares.to_numpy(), epsilon)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def characteristic_stability(
    reference: pd.DataFrame, actual: pd.DataFrame, features: list[str], n_bins: int = DEFAULT_BINS
) -> dict[str, float]:
    """CSI per feature: PSI of its distribution, quantile bins (numeric) or categories."""
    result = {}
    for name in features:
        if _is_numeric(reference[name]):
            result[name] = population_stability_index(
                reference[name].to_numpy(dtype=float), actual[name].to_numpy(dtype=float), n_bins
            )
        else:
            result[name] = categorical_stability_index(reference[name], actual[name])
    return result


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
    shortfall against it, and the PDs' mean absolute error and bias against the true PDs."""
    y, p = _arrays(y_true, pd_pred)
    truth = np.asarray(true_pd, dtype=float).ravel()
    oracle_auc = roc_auc(y, truth)
    return {
        "oracle_roc_auc": oracle_auc,
        "oracle_gini": 2.0 * oracle_auc - 1.0,
        "roc_auc_gap_to_oracle": oracle_auc - roc_auc(y, p),
        "pd_mae_vs_true_pd": float(np.mean(np.abs(p - truth))),
        "pd_bias_vs_true_pd": float(np.mean(p - truth)),
    }


# --- all together --------------------------------------------------------------------------


def pd_metrics(
    y_true: np.ndarray,
    pd_pred: np.ndarray,
    threshold: float,
    true_pd: np.ndarray | None = None,
) -> dict[str, float]:
    """Every discrimination, decision and calibration metric of one sample, by stable name.

    Names: roc_auc, gini, ks, accuracy, precision, recall, f1, true_negatives,
    false_positives, false_negatives, true_positives, brier_score, log_loss, mean_pd,
    observed_default_rate, calibration_in_the_large(_relative), calibration_slope,
    calibration_intercept, expected_calibration_error, hosmer_lemeshow_stat,
    hosmer_lemeshow_pvalue, n_loans, n_defaults; above HL_SUBSAMPLE_LOANS loans also
    hosmer_lemeshow_subsample_reject_share; with ``true_pd`` also oracle_roc_auc,
    oracle_gini, roc_auc_gap_to_oracle, pd_mae_vs_true_pd, pd_bias_vs_true_pd.
    """
    y, p = _arrays(y_true, pd_pred)
    slope, intercept = calibration_slope_intercept(y, p)
    hl_stat, hl_pvalue = hosmer_lemeshow(y, p)
    result: dict[str, float] = {
        "n_loans": float(y.size),
        "n_defaults": float(y.sum()),
        "roc_auc": roc_auc(y, p),
        "gini": gini(y, p),
        "ks": ks_statistic(y, p),
        **{k: float(v) for k, v in threshold_metrics(y, p, threshold).items()},
        "brier_score": brier_score(y, p),
        "log_loss": logarithmic_loss(y, p),
        **calibration_in_the_large(y, p),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "expected_calibration_error": expected_calibration_error(y, p),
        "hosmer_lemeshow_stat": hl_stat,
        "hosmer_lemeshow_pvalue": hl_pvalue,
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
