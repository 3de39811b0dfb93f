"""Evaluating a train or tune run's model and logging the evaluation: metrics, the validation
report with its header and cover, tables, figures, scored samples, then the model."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    DATE_COL,
    GRADE_TABLE_ARTIFACT,
    HOLDOUT_ARTIFACT,
    IMPORTANCE_ARTIFACT,
    LIGHTS_ARTIFACT,
    NOT_REGISTERED,
    OOT_ARTIFACT,
    PLOTS_DIR,
    REPORT_ARTIFACT,
    TAG_CODE_FINGERPRINT,
    TAG_DATA_SHA256,
    TAG_GIT_COMMIT,
    TAG_NOT_DEFINED,
    TARGET_COL,
)
from pd_lib.data.lake import book_odds_factor
from pd_lib.data.splits import Samples
from pd_lib.mlflow_layer.artifacts import log_dataframe, log_pngs
from pd_lib.mlflow_layer.building.model_logging import log_model
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT
from pd_lib.modelling.pd_model import PDModel
from pd_lib.probability import BOOK_ODDS_FACTOR
from pd_lib.validation.evaluation import Evaluation, evaluate
from pd_lib.validation.figures import evaluation_figures
from pd_lib.validation.lights import lights_csv
from pd_lib.validation.report import build_report
from pd_lib.validation.report_html import render_figures

log = logging.getLogger("pd_pipeline")


def run_context(params: dict[str, Any]) -> dict[str, str]:
    """What the report's header says about the run: id, entry point, data and parameters."""
    run = mlflow.active_run()
    context = {"Run": run.info.run_id if run else "(no active run)"}
    if run:
        data = MlflowClient().get_run(run.info.run_id).data
        context["Entry point"] = data.tags.get(MLFLOW_PROJECT_ENTRY_POINT, "")
        context["Data"] = data.params.get("resolved_data_uri", "")
    context.update({k: str(v) for k, v in params.items()})
    return context


def cover_facts(samples: Samples, model: str) -> dict[str, str]:
    """The report cover's facts: model, date, code, data (where, hash, loans, default rate,
    period). The registered name and version are filled in by register (its copy)."""
    run = mlflow.active_run()
    data = MlflowClient().get_run(run.info.run_id).data if run else None
    tags, params = (data.tags, data.params) if data else ({}, {})
    sizes = [("train", samples.train), ("holdout", samples.holdout)]
    if samples.oot is not None:
        sizes.append(("out-of-time", samples.oot))
    sampled = samples.sampling
    sampling = {} if sampled is None else {"Sampling": (
        f"a stratified sample of a book of {sampled.book_loans:,} loans with "
        f"{sampled.book_defaults:,} defaults ({sampled.book_default_rate:.2%}): defaults kept "
        f"with probability {sampled.default_share:.4g}, other loans {sampled.other_share:.4g} "
        f"(seed {sampled.seed}); the model's default odds are divided by "
        f"{book_odds_factor(sampled):.4g}, and it is judged on a holdout and training sample "
        "thinned to the book's mix")}
    return {
        "Model": model,
        "Registered as": NOT_REGISTERED,
        "Date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Code": f"git commit {tags.get(TAG_GIT_COMMIT) or 'unknown'}, code fingerprint "
                f"{tags.get(TAG_CODE_FINGERPRINT, '')[:12] or 'unknown'}",
        "Data": params.get("resolved_data_uri", "") or "unknown",
        "Data SHA-256": tags.get(TAG_DATA_SHA256, "") or "unknown",
        "Loans": ", ".join(f"{len(frame):,} {name}" for name, frame in sizes),
        "Default rate": ", ".join(f"{frame[TARGET_COL].mean():.2%} {name}"
                                  for name, frame in sizes),
        "Period": origination_period([frame for _, frame in sizes]),
        **sampling,
    }


def origination_period(frames: list[pd.DataFrame]) -> str:
    """First to last origination date over the samples, or that the data has none (each
    sample's own minimum and maximum: no copy of the book)."""
    dated = [pd.to_datetime(frame[DATE_COL]).dropna() for frame in frames
             if DATE_COL in frame.columns]
    dated = [dates for dates in dated if len(dates)]
    if not dated:
        return "no origination dates in the data"
    return (f"{min(d.min() for d in dated):%Y-%m-%d} to "
            f"{max(d.max() for d in dated):%Y-%m-%d}")


def log_evaluation(evaluation: Evaluation, figures: Mapping[str, Figure], context: dict[str, str],
                   model_section: str = "", cover: dict[str, str] | None = None) -> None:
    """Log metrics in one batch, the validation report, tables, ``figures`` (the evaluation's,
    drawn by :func:`pd_lib.validation.figures.evaluation_figures`) and scored samples."""
    mlflow.log_metrics(evaluation.metrics)
    if evaluation.not_defined:  # logged as NaN; the tag says why
        mlflow.set_tag(TAG_NOT_DEFINED, "; ".join(
            f"{k}: {v}" for k, v in evaluation.not_defined.items())[:5000])
    pngs = render_figures(figures)
    report = build_report(context, evaluation.metrics, evaluation.lights,
                          evaluation.grade_table, pngs, model_html=model_section,
                          not_defined=evaluation.not_defined, cover=cover)
    mlflow.log_text(report, REPORT_ARTIFACT)
    mlflow.log_text(evaluation.grade_table.to_csv(index=False), GRADE_TABLE_ARTIFACT)
    mlflow.log_text(evaluation.importance.to_csv(index=False), IMPORTANCE_ARTIFACT)
    mlflow.log_text(lights_csv(evaluation.lights), LIGHTS_ARTIFACT)
    log_pngs(pngs, PLOTS_DIR)
    log_dataframe(evaluation.holdout_scored, HOLDOUT_ARTIFACT)
    if evaluation.oot_scored is not None:
        log_dataframe(evaluation.oot_scored, OOT_ARTIFACT)


def evaluate_and_log(
    model: PDModel, samples: Samples, threshold: float, seed: int,
    params: dict[str, Any] | None = None, model_section: str = "",
) -> Evaluation:
    """Evaluate the fitted model, draw its figures, then log its evaluation, its report and
    the model itself. A model fitted on a stratified sample of a larger book has its default
    odds brought back to the book's first (pd_lib.data.lake), and is judged on samples that
    look like the book."""
    if samples.sampling is not None:
        setattr(model, BOOK_ODDS_FACTOR, book_odds_factor(samples.sampling))
        mlflow.log_metric("book_odds_factor", book_odds_factor(samples.sampling))
    evaluation = evaluate(model, samples.reference, samples.holdout, threshold, samples.oot,
                          seed)
    log.info("holdout ROC AUC %.4f, log loss %.4f, accuracy %.4f; lights: %s",
             evaluation.metrics["roc_auc"], evaluation.metrics["log_loss"],
             evaluation.metrics["accuracy"],
             ", ".join(f"{li.metric} {li.colour}" for li in evaluation.lights))
    log_evaluation(evaluation, evaluation_figures(evaluation, threshold),
                   run_context(params or {}), model_section,
                   cover_facts(samples, str((params or {}).get("model", type(model).__name__))))
    log_model(model, samples.train)
    log.info("logged model, metrics, plots, tables, report and scored holdout")
    return evaluation
