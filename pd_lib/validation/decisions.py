"""Decisions at a PD threshold: accuracy, precision, recall, F1 and the confusion counts
of "default" predicted where PD >= threshold."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from pd_lib.validation.inputs import checked_arrays


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
    y, p = checked_arrays(y_true, pd_pred)
    labels = _labels(p, threshold)
    return {
        "accuracy": float(accuracy_score(y, labels)),
        "precision": float(precision_score(y, labels, zero_division=0)),
        "recall": float(recall_score(y, labels, zero_division=0)),
        "f1": float(f1_score(y, labels, zero_division=0)),
        **confusion_counts(y, p, threshold),
    }
