"""PD metrics: small pure functions of (observed default flags, predicted PDs)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score


def roc_auc(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Area under the ROC curve of the PDs against the default flags."""
    return float(roc_auc_score(y_true, pd_pred))


def gini(y_true: np.ndarray, pd_pred: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio): 2 * AUC - 1."""
    return 2.0 * roc_auc(y_true, pd_pred) - 1.0


def accuracy(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> float:
    """Share of loans whose label at ``threshold`` equals the observed flag."""
    return float(accuracy_score(y_true, (np.asarray(pd_pred) >= threshold).astype(int)))


def basic_metrics(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> dict[str, float]:
    """The tutorial's metrics: accuracy and ROC AUC (plus Gini, which costs nothing)."""
    return {
        "accuracy": accuracy(y_true, pd_pred, threshold),
        "roc_auc": roc_auc(y_true, pd_pred),
        "gini": gini(y_true, pd_pred),
    }
