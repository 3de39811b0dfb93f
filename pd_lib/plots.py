"""Figures for a model run; each function returns a matplotlib Figure (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve  # noqa: E402


def roc_curve_figure(
    y_true: np.ndarray, pd_pred: np.ndarray, oracle_pd: np.ndarray | None = None
) -> Figure:
    """ROC curve of the model, with the true-PD (oracle) curve when it is known."""
    fig, ax = plt.subplots(figsize=(6, 5))
    curves = [("Model", pd_pred)]
    if oracle_pd is not None:
        curves.append(("True PD (best possible)", oracle_pd))
    for label, scores in curves:
        fpr, tpr, _ = roc_curve(y_true, scores)
        ax.plot(fpr, tpr, label=f"{label}, AUC = {roc_auc_score(y_true, scores):.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Random, AUC = 0.5")
    ax.set(
        xlabel="False positive rate (non-defaulters flagged)",
        ylabel="True positive rate (defaulters caught)",
        title="ROC curve on the holdout",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def confusion_matrix_figure(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> Figure:
    """Counts of observed vs predicted default at the decision threshold."""
    labels = (np.asarray(pd_pred) >= threshold).astype(int)
    counts = confusion_matrix(y_true, labels, labels=[0, 1])
    fig, ax = plt.subplots(figsize=(5, 4))
    sns.heatmap(
        counts,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        xticklabels=["No default", "Default"],
        yticklabels=["No default", "Default"],
        ax=ax,
    )
    ax.set(
        xlabel=f"Predicted (PD >= {threshold:g})",
        ylabel="Observed",
        title="Confusion matrix on the holdout",
    )
    fig.tight_layout()
    return fig
