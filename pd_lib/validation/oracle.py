"""On synthetic data only: how close the PDs are to the true PDs the book was drawn from."""

from __future__ import annotations

import numpy as np

from pd_lib import probability
from pd_lib.validation.calibration import calibration_slope_intercept
from pd_lib.validation.discrimination import roc_auc
from pd_lib.validation.inputs import checked_arrays


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
    y, p = checked_arrays(y_true, pd_pred)
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
