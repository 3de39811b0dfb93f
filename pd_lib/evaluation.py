"""Evaluate a fitted PD model on its training and holdout samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure

from pd_lib import metrics, plots
from pd_lib.config import PD_COL, TARGET_COL, TRUE_PD_COL
from pd_lib.data import feature_columns
from pd_lib.pd_model import PDModel


@dataclass
class Evaluation:
    """What a train or tune run logs about its model."""

    metrics: dict[str, float]
    figures: dict[str, Figure] = field(default_factory=dict)
    holdout_scored: pd.DataFrame | None = None


def score_frame(model: PDModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model's PD added as column ``pd``."""
    scored = frame.copy()
    scored[PD_COL] = model.predict_pd(frame[feature_columns(frame)])
    return scored


def evaluate(
    model: PDModel, train: pd.DataFrame, holdout: pd.DataFrame, threshold: float
) -> Evaluation:
    """Holdout metrics (unprefixed), train metrics (``train_``), and the tutorial's figures."""
    holdout_scored = score_frame(model, holdout)
    train_pd = model.predict_pd(train[feature_columns(train)])
    y_holdout = holdout_scored[TARGET_COL].to_numpy()
    pd_holdout = holdout_scored[PD_COL].to_numpy()

    results = metrics.basic_metrics(y_holdout, pd_holdout, threshold)
    results.update(
        {
            f"train_{k}": v
            for k, v in metrics.basic_metrics(train[TARGET_COL].to_numpy(), train_pd, threshold)
            .items()
        }
    )
    oracle = holdout[TRUE_PD_COL].to_numpy() if TRUE_PD_COL in holdout.columns else None
    if oracle is not None:
        results["oracle_roc_auc"] = metrics.roc_auc(y_holdout, oracle)
    figures = {
        "roc_curve": plots.roc_curve_figure(y_holdout, pd_holdout, oracle),
        "confusion_matrix": plots.confusion_matrix_figure(y_holdout, pd_holdout, threshold),
    }
    return Evaluation(metrics=results, figures=figures, holdout_scored=holdout_scored)
