"""Evaluate a fitted PD model on its training, holdout and (optional) out-of-time samples:
the numbers (metrics, scored samples, grade table, importance, lights). Its figures are drawn
from them by :func:`pd_lib.validation.figures.evaluation_figures`.

Metric names: holdout unprefixed (``roc_auc``, ``ks``, ``hosmer_lemeshow_pvalue``, ``psi``
of the PD train -> holdout, ``csi_<feature>`` train -> holdout, the master scale's
``grade_*`` and ``jeffreys_pvalue_portfolio``), training sample ``train_*``, out-of-time
sample ``oot_*`` (``oot_psi`` of the PD holdout -> out-of-time, ``oot_csi_<feature>``
train -> out-of-time). See :func:`pd_lib.validation.metrics.pd_metrics` for the per-sample list.

The training sample's metrics (``train_*``, and the reference side of PSI and CSI) come from
a stratified sample of at most TRAIN_METRICS_MAX_ROWS training loans: scoring 800,000 of
them was 15 of a 1M-row evaluation's 27 s, for metrics whose standard errors at 200,000
loans are already far below the lights' thresholds. ``train_n_loans`` says how many.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pd_lib.config import PD_COL, TARGET_COL, TRUE_PD_COL
from pd_lib.data.schema import feature_columns
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.selection import stratified_sample
from pd_lib.validation import master_scale, metrics
from pd_lib.validation.decisions import threshold_metrics
from pd_lib.validation.importance import permutation_importance_table
from pd_lib.validation.lights import Light, traffic_lights
from pd_lib.validation.stability import stability_metrics

log = logging.getLogger("pd_pipeline")

TRAIN_METRICS_MAX_ROWS = 200_000


@dataclass
class Evaluation:
    """What a train or tune run logs about its model."""

    metrics: dict[str, float]
    holdout_scored: pd.DataFrame | None = None
    oot_scored: pd.DataFrame | None = None
    grade_table: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None
    lights: list[Light] = field(default_factory=list)
    not_defined: dict[str, str] = field(default_factory=dict)


def with_pd(model: PDModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model's PD added as column ``pd``."""
    scored = frame.copy()
    scored[PD_COL] = model.predict_pd(frame[feature_columns(frame)])
    return scored


def true_pd(frame: pd.DataFrame) -> np.ndarray | None:
    """The frame's known true PD (the oracle; synthetic data only), else None."""
    return frame[TRUE_PD_COL].to_numpy() if TRUE_PD_COL in frame.columns else None


def sample_metrics(scored: pd.DataFrame, threshold: float, prefix: str = "") -> dict[str, float]:
    """pd_metrics of a scored sample, names prefixed."""
    values = metrics.pd_metrics(scored[TARGET_COL].to_numpy(), scored[PD_COL].to_numpy(),
                                threshold, true_pd(scored))
    return {f"{prefix}{k}": v for k, v in values.items()}


def rate_threshold_metrics(y_true: np.ndarray, pd_pred: np.ndarray, rate: float
                           ) -> dict[str, float]:
    """Decisions at a cut that means something for PDs: call a loan a default when its PD is
    at least the training sample's default rate (0.5, the tutorial's cut, calls almost no
    loan a default when defaults are rare)."""
    values = threshold_metrics(y_true, pd_pred, rate)
    return {"decision_threshold_rate": rate,
            **{f"{k}_at_rate": float(values[k]) for k in ("accuracy", "precision", "recall",
                                                          "f1")}}


def sample_not_defined(scored: pd.DataFrame, prefix: str = "") -> dict[str, str]:
    """Metric name (prefixed) -> why it is not defined on this sample (its value is NaN)."""
    reasons = metrics.not_defined(scored[TARGET_COL].to_numpy(), scored[PD_COL].to_numpy())
    return {f"{prefix}{k}": v for k, v in reasons.items()}


def stability(pd_reference: pd.DataFrame, feature_reference: pd.DataFrame,
              actual: pd.DataFrame, prefix: str = "") -> dict:
    """PSI of the PD from ``pd_reference`` and CSI per feature from ``feature_reference``
    to ``actual``."""
    values = stability_metrics(pd_reference[PD_COL].to_numpy(),
                                       actual[PD_COL].to_numpy(), feature_reference, actual,
                                       feature_columns(feature_reference))
    return {f"{prefix}{k}": v for k, v in values.items()}


def evaluate(
    model: PDModel,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    threshold: float,
    oot: pd.DataFrame | None = None,
    seed: int = 42,
) -> Evaluation:
    """Every metric, the master scale and the traffic lights of a fitted model (its figures:
    :func:`pd_lib.validation.figures.evaluation_figures`)."""
    started = time.perf_counter()
    train_sample = train.iloc[stratified_sample(train[TARGET_COL].to_numpy(),
                                                TRAIN_METRICS_MAX_ROWS, seed)]
    train_scored = with_pd(model, train_sample)
    holdout_scored = with_pd(model, holdout)
    oot_scored = with_pd(model, oot) if oot is not None else None
    y, pd_holdout = holdout_scored[TARGET_COL].to_numpy(), holdout_scored[PD_COL].to_numpy()

    results = sample_metrics(holdout_scored, threshold)
    results.update(sample_metrics(train_scored, threshold, "train_"))
    # PSI train -> holdout compares in-sample with out-of-sample PDs: on a random split the
    # populations are the same, so it measures how much fitting distorted the PDs.
    results.update(stability(train_scored, train_scored, holdout_scored))
    if oot_scored is not None:
        results.update(sample_metrics(oot_scored, threshold, "oot_"))
        # Out of time, the PDs are compared out-of-sample to out-of-sample (holdout -> OOT):
        # population drift only; the features from the development sample (train -> OOT).
        results.update(stability(holdout_scored, train_scored, oot_scored, "oot_"))
    results.update(rate_threshold_metrics(y, pd_holdout, float(train[TARGET_COL].mean())))
    table = master_scale.grade_table(y, pd_holdout)
    results.update(master_scale.master_scale_metrics(table, y, pd_holdout))
    results.update(metrics.derived_metrics(results))

    features = feature_columns(holdout)
    importance = permutation_importance_table(model, holdout[features], y, seed)
    not_defined = {**sample_not_defined(holdout_scored), **sample_not_defined(train_scored,
                                                                              "train_")}
    if oot_scored is not None:
        not_defined.update(sample_not_defined(oot_scored, "oot_"))
    not_defined.update({k: "computed from an AUC that is not defined" for k in
                        metrics.derived_metrics(results) if np.isnan(results[k])})
    log.info("evaluated on %d train, %d holdout%s rows in %.1f s", len(train_sample), len(holdout),
             f", {len(oot)} out-of-time" if oot is not None else "",
             time.perf_counter() - started)
    return Evaluation(metrics=results, holdout_scored=holdout_scored,
                      oot_scored=oot_scored, grade_table=table, importance=importance,
                      lights=traffic_lights(results), not_defined=not_defined)
