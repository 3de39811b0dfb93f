"""The monitor step's MLflow side: the version's lineage (its development data and split), the
period scored through the existing scoring paths (pandas or Spark) and counted by the same
engine (Spark: aggregations, only the counts reach the driver), the statistics from those
counts, one run with everything logged, and the verdict tagged on the model version."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    DATE_COL,
    ID_COL,
    MONITOR_GRADES_ARTIFACT,
    MONITOR_HETEROGENEITY_ARTIFACT,
    MONITOR_REPORT_ARTIFACT,
    MONITOR_STABILITY_ARTIFACT,
    MONITOR_VINTAGES_ARTIFACT,
    PD_COL,
    PLOTS_DIR,
    STAGE_ALIASES,
    TAG_DATA_URI,
    TAG_MONITOR_PERIOD,
    TAG_MONITOR_RUN,
    TAG_MONITOR_STATUS,
    TAG_SOURCE_RUN,
    TARGET_COL,
)
from pd_lib.data.schema import feature_columns
from pd_lib.data.splits import split_samples
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import local_copy, log_pngs
from pd_lib.mlflow_layer.governance.registry import alias_holder
from pd_lib.mlflow_layer.run_lookup import get_run
from pd_lib.mlflow_layer.run_params import log_params_once
from pd_lib.mlflow_layer.scoring.batch import (
    check_engine,
    load_scoring_model,
    pyfunc_pd,
    read_loans,
    recover_champion_reads,
)
from pd_lib.mlflow_layer.scoring_model import (
    ScoringModel,
    check_columns,
    input_columns,
    pandas_kind,
    resolve_model,
)
from pd_lib.mlflow_layer.step_runs import step_run
from pd_lib.validation.inputs import check_pds
from pd_lib.validation.lights import lights_csv
from pd_lib.validation.monitoring import (
    CountPlan,
    Monitoring,
    PeriodCounts,
    count_plan,
    monitor_counts,
    period_counts,
)
from pd_lib.validation.monitoring_report import build_monitoring_report, cover_rows
from pd_lib.validation.plots import grade_table_figure, vintage_figure
from pd_lib.validation.report_html import render_figures
from pd_lib.validation.stability import metric_key

log = logging.getLogger("pd_pipeline")

FAIL_ON = ("never", "amber", "red")


@dataclass(frozen=True)
class Development:
    """The development sample of a version: where it came from, its holdout and train."""

    data_uri: str
    split: str
    holdout: pd.DataFrame
    train: pd.DataFrame


@dataclass(frozen=True)
class MonitorResult:
    """What the monitor step found and where it logged it."""

    run_id: str
    model: ScoringModel
    period: str
    result: Monitoring


def check_fail_on(fail_on: str) -> str:
    """never, amber or red, or a clear error."""
    if fail_on not in FAIL_ON:
        raise PipelineError(f"unknown fail_on '{fail_on}'; choose one of {', '.join(FAIL_ON)}.")
    return fail_on


def fails(status: str, fail_on: str) -> bool:
    """Whether ``status`` reaches the ``fail_on`` level (red fails on amber and red)."""
    level = {"green": 0, "amber": 1, "red": 2}
    return fail_on != "never" and level[status] >= level[fail_on]


def source_run_id(model: ScoringModel) -> str:
    """The train or tune run that logged the model: the version's source run, or the run of
    a runs:/ URI."""
    if model.version:
        version = MlflowClient().get_model_version(model.name, model.version)
        return version.tags.get(TAG_SOURCE_RUN) or version.run_id
    if model.uri.startswith("runs:/"):
        return model.uri[len("runs:/"):].split("/", 1)[0]
    raise PipelineError(f"cannot find the training run of '{model.uri}'; monitor a registered "
                        "version (models:/name/3, models:/name@champion) or runs:/<id>/model.")


def development_sample(model: ScoringModel) -> Development:
    """The version's development data (its data URI), split as its run split it."""
    run = get_run(source_run_id(model))
    params = run.data.params
    data_uri = params.get("resolved_data_uri") or params.get("data_uri", "")
    if model.version and not data_uri:
        data_uri = MlflowClient().get_model_version(model.name, model.version).tags.get(
            TAG_DATA_URI, "")
    if not data_uri:
        raise PipelineError(f"run {run.info.run_id} records no data URI; monitor a version "
                            "trained by the train or tune step.")
    with local_copy(data_uri, "the development data_uri") as path:
        frame = pd.read_parquet(path)
    split = params.get("split", "random")
    samples = split_samples(frame, float(params.get("test_size", 0.2)),
                            int(float(params.get("seed", 42))), split)
    # the training reference: the book's mix where the loans were a stratified sample
    return Development(data_uri, split, samples.holdout, samples.reference)


def period_counts_spark(model: ScoringModel, data_uri: str, development: Development,
                        reference_pd: np.ndarray, spark_master: str
                        ) -> tuple[PeriodCounts, CountPlan]:
    """The period's counts with engine=spark: Spark reads the Parquet period, scores it
    (:func:`pd_lib.mlflow_layer.scoring.spark.score_spark`) and aggregates it
    (:func:`pd_lib.mlflow_layer.scoring.spark_monitoring.period_counts_spark`); the driver receives
    the aggregates, never the rows. A period that lacks a column the model needs is refused
    naming the file and the column before anything is scored."""
    from pd_lib.mlflow_layer.scoring.spark import (
        local_input_path,
        score_spark,
        spark_kind,
    )
    from pd_lib.mlflow_layer.scoring.spark_monitoring import period_counts_spark as count_on_spark

    if data_uri.lower().endswith(".csv"):
        raise PipelineError(f"engine=spark reads the period as Parquet; '{data_uri}' is a CSV "
                            "file: monitor it with engine=pandas or write it as Parquet.")
    path = local_input_path(data_uri)
    from pd_lib.spark_session import read_parquet, spark_session

    spark = spark_session(spark_master, app_name="pd-monitor")
    frame = read_parquet(spark, path, f"data_uri '{data_uri}'")
    check_columns({f.name: spark_kind(f.dataType) for f in frame.schema.fields},
                  model.signature, f"the period's data '{data_uri}'")
    if not frame.head(1):
        raise PipelineError(f"data_uri '{data_uri}' has no loans to monitor.")
    features = [f for f in feature_columns(development.train) if f in frame.columns]
    plan = count_plan(reference_pd, development.train, features)
    keep = [c for c in (*features, TARGET_COL, DATE_COL) if c in frame.columns]
    return count_on_spark(score_spark(model, frame, spark, keep=keep), plan), plan


def period_counts_pandas(model: ScoringModel, data_uri: str, development: Development,
                         reference_pd: np.ndarray) -> tuple[PeriodCounts, CountPlan]:
    """The period's counts with engine=pandas: read, scored and counted in this process."""
    period = read_period(data_uri, model)
    if period.empty:
        raise PipelineError(f"data_uri '{data_uri}' has no loans to monitor.")
    check_columns({c: pandas_kind(t) for c, t in period.dtypes.items()}, model.signature,
                  f"the period's data '{data_uri}'")
    period = period.assign(**{PD_COL: pyfunc_pd(load_scoring_model(model), period)})
    features = [f for f in feature_columns(development.train) if f in period.columns]
    plan = count_plan(reference_pd, development.train, features)
    return period_counts(period, plan), plan


def read_period(data_uri: str, model: ScoringModel) -> pd.DataFrame:
    """The period's loans, reading only what monitoring needs from a Parquet file: the model's
    input columns, loan_id, default and origination_date (a CSV is read whole)."""
    if data_uri.lower().endswith(".csv"):  # read whole, without downloading it twice
        return read_loans(data_uri)
    needed = {name for name, _, _ in input_columns(model.signature)} | {
        ID_COL, TARGET_COL, DATE_COL}
    with local_copy(data_uri, "data_uri") as path:
        try:
            names = pq.read_schema(path).names
            return pd.read_parquet(path, columns=[c for c in names if c in needed])
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet or CSV file "
                                f"({first_line(exc)}).") from None


def period_months(counts: PeriodCounts) -> str:
    """First and last origination month of the period, or 'no origination_date'."""
    if counts.vintages is None:
        return "no origination_date"
    months = counts.vintages["month"]
    return f"{months.min()} to {months.max()}" if len(months) else "no origination month"


def log_monitoring(result: Monitoring, cover: dict[str, str]) -> None:
    """Metrics, tables, plots and the report of one monitoring run."""
    mlflow.log_metrics({metric_key(k): float(v) for k, v in result.metrics.items()})
    figures = {"vintages": vintage_figure(result.vintages)} if len(result.vintages) else {}
    if result.grades is not None:
        figures["grade_table"] = grade_table_figure(result.grades, sample="the period")
    pngs = render_figures(figures)
    mlflow.log_text(build_monitoring_report(cover, result, pngs), MONITOR_REPORT_ARTIFACT)
    mlflow.log_text(lights_csv(result.lights), "tables/monitor_lights.csv")
    mlflow.log_text(result.stability.to_csv(index=False), MONITOR_STABILITY_ARTIFACT)
    mlflow.log_text(result.vintages.to_csv(index=False), MONITOR_VINTAGES_ARTIFACT)
    if result.grades is not None:
        mlflow.log_text(result.grades.to_csv(index=False), MONITOR_GRADES_ARTIFACT)
        mlflow.log_text(result.heterogeneity.to_csv(index=False),
                        MONITOR_HETEROGENEITY_ARTIFACT)
    log_pngs(pngs, PLOTS_DIR)


def tag_version(model: ScoringModel, run_id: str, status: str, period: str) -> None:
    """The verdict on the monitored version: status, the run, the period."""
    if not model.version:
        return
    client = MlflowClient()
    for key, value in ((TAG_MONITOR_STATUS, status), (TAG_MONITOR_RUN, run_id),
                       (TAG_MONITOR_PERIOD, period)):
        client.set_model_version_tag(model.name, model.version, key, value)


def monitor_and_log(model_uri: str, data_uri: str, engine: str = "pandas",
                    spark_master: str = "local[2]") -> MonitorResult:
    """Judge the period ``data_uri`` against the development sample of ``model_uri`` and log
    it all in one monitor run; the version gets the status, run and period as tags. Input
    errors (model, lineage, data, signature) stop the step before the run logs anything."""
    check_engine(engine)
    if not data_uri:
        raise PipelineError("no data_uri given; pass -P data_uri=runs:/<generate run id>/"
                            "data/loans.parquet or a Parquet/CSV path of the period.")
    if engine == "spark":
        from pd_lib.mlflow_layer.scoring.spark import check_spark_paths

        check_spark_paths(spark_master, data_uri, output_path=None)
    recover_champion_reads(model_uri)
    model = resolve_model(model_uri)
    development = development_sample(model)
    scorer = load_scoring_model(model)
    reference = development.holdout.assign(**{PD_COL: pyfunc_pd(scorer, development.holdout)})
    reference_pd = check_pds(reference[PD_COL].to_numpy())
    if engine == "spark":
        counts, plan = period_counts_spark(model, data_uri, development, reference_pd,
                                           spark_master)
    else:
        counts, plan = period_counts_pandas(model, data_uri, development, reference_pd)
    result = monitor_counts(reference, development.train, counts, plan)
    months = period_months(counts)
    label = f"{months} ({data_uri})"
    cover = cover_rows(model.name, model.version or "-", f"{development.data_uri} "
                       f"(split={development.split}; holdout for PDs and AUC, training sample "
                       f"for characteristics: {len(development.train):,} loans)",
                       data_uri, result, months)
    with step_run("monitor", f"monitor-{model.name}-v{model.version or 'run'}") as run:
        log_params_once({"model_uri": model_uri, "data_uri": data_uri, "engine": engine})
        mlflow.set_tags({TAG_MONITOR_STATUS: result.status, TAG_MONITOR_PERIOD: label,
                         "pd.monitored_model_uri": model.uri,
                         "pd.monitored_model_version": model.version,
                         "pd.monitor.outcomes": str(result.has_outcomes).lower()})
        log_monitoring(result, cover)
        tag_version(model, run.info.run_id, result.status, label)
        log.info("monitored %s on %d loans: %s", model.uri, counts.n_loans, result.status)
        return MonitorResult(run.info.run_id, model, label, result)


def champion_monitoring_line(model_name: str) -> str:
    """One line on the champion's last monitoring, or '' when it was never monitored."""
    champion = alias_holder(model_name, STAGE_ALIASES["Production"])
    if champion is None or TAG_MONITOR_STATUS not in champion.tags:
        return ""
    tags = champion.tags
    return (f"champion {model_name} version {champion.version}: last monitoring "
            f"{tags[TAG_MONITOR_STATUS]} (run {tags.get(TAG_MONITOR_RUN, '?')}, period "
            f"{tags.get(TAG_MONITOR_PERIOD, '?')})")
