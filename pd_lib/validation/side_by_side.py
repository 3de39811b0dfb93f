"""The promotion gate's numbers for several models' PDs of the same loans, side by side
(discrimination and calibration, one column per model): computed here, shown by
:func:`pd_lib.validation.comparison_report.comparison_report`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pd_lib.validation.calibration import (
    brier_score,
    calibration_slope_intercept,
    expected_calibration_error,
    logarithmic_loss,
)
from pd_lib.validation.discrimination import gini, roc_auc, roc_auc_interval


def side_by_side_metrics(y_true: np.ndarray, pds: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The gate's numbers for several PDs of the same loans, one column per model."""
    rows = {
        "ROC AUC": lambda p: roc_auc(y_true, p),
        "ROC AUC 95% interval": lambda p: "{:.4f} to {:.4f}".format(
            *roc_auc_interval(y_true, p)),
        "Gini": lambda p: gini(y_true, p),
        "Brier score": lambda p: brier_score(y_true, p),
        "Log loss": lambda p: logarithmic_loss(y_true, p),
        "Mean PD": lambda p: f"{float(np.mean(p)):.2%}",
        "Observed default rate": lambda p: f"{float(np.mean(y_true)):.2%}",
        "Calibration slope": lambda p: calibration_slope_intercept(y_true, p)[0],
        "Expected calibration error": lambda p: expected_calibration_error(y_true, p),
    }
    table = {"check": list(rows)}
    for label, scores in pds.items():
        table[label] = [formula(scores) for formula in rows.values()]
    return pd.DataFrame(table)
