"""Batch scoring: a registered PD model on a loan book, with pandas or with Spark.

Both engines give, per loan: ``loan_id``, ``pd`` (the model's pyfunc output), ``rating`` (the
master-scale grade of the PD), ``model_name`` and ``model_version``. The model URI is resolved
to one version first, so a promotion during scoring cannot mix two models. The input is
checked against the model's signature before anything is scored or logged.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from pd_lib.checks import check_reasons
from pd_lib.config import ID_COL, PD_COL, SCORED_ARTIFACT
from pd_lib.data.lake import partition_columns
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import local_copy, log_dataframe
from pd_lib.mlflow_layer.governance.promotion import recover_abandoned_promotion
from pd_lib.mlflow_layer.run_params import log_params_once
from pd_lib.mlflow_layer.scoring.spark import (
    check_spark_paths,
    local_input_path,
    score_spark,
    write_spark,
)
from pd_lib.mlflow_layer.scoring_model import (
    MODEL_NAME_COL,
    MODEL_VERSION_COL,
    RATING_COL,
    ScoringModel,
    as_scoring_model,
    check_columns,
    load_scoring_model,
    pandas_kind,
    pyfunc_output,
    resolve_model,
)
from pd_lib.mlflow_layer.step_runs import step_run
from pd_lib.spark_session import read_parquet, spark_session
from pd_lib.validation.master_scale import assign_grades

log = logging.getLogger("pd_pipeline")

ENGINES = ("pandas", "spark")


# --- pandas ------------------------------------------------------------------------------


def read_loans(data_uri: str) -> pd.DataFrame:
    """The loans to score, from a runs:/ URI or a .parquet or .csv path."""
    with local_copy(data_uri, "data_uri") as path:
        try:
            if path.suffix.lower() == ".csv":
                return pd.read_csv(path)
            return pd.read_parquet(path)
        except Exception as exc:  # pandas and pyarrow raise many types for a bad file
            raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet or CSV file "
                                f"({first_line(exc)}).") from None


def loan_ids(frame: pd.DataFrame) -> pd.Series:
    """The loan_id column, or the row number when the book has none (with a warning)."""
    if ID_COL in frame.columns:
        return frame[ID_COL].reset_index(drop=True)
    log.warning("no '%s' column: using the row number as id", ID_COL)
    return pd.Series(np.arange(len(frame), dtype=np.int64), name=ID_COL)


def rating_grades(pd_values: Iterable[float]) -> np.ndarray:
    """The master-scale grade of each PD (pd_lib.validation.master_scale.assign_grades)."""
    return assign_grades(np.asarray(pd_values, dtype=float)).astype(str)


def pyfunc_pd(model: mlflow.pyfunc.PyFuncModel, features: pd.DataFrame) -> np.ndarray:
    """The pyfunc model's PDs for ``features`` (the ``pd`` column of its output)."""
    return np.asarray(pyfunc_output(model, features)[PD_COL], dtype=float)


def score_loans(model_uri: str | ScoringModel, frame: pd.DataFrame, reasons: int = 0
                ) -> pd.DataFrame:
    """Score a loan book with pandas: loan_id, pd, rating, model_name, model_version, and
    with reasons > 0 the reason columns (and a scorecard's score)."""
    resolved = as_scoring_model(model_uri)
    if frame.empty:
        raise PipelineError("the data has no rows to score; pass a loan file with rows.")
    check_columns({c: pandas_kind(t) for c, t in frame.dtypes.items()}, resolved.signature,
                  "the data")
    model = load_scoring_model(resolved)
    output = pyfunc_output(model, frame, reasons)
    scored = scored_frame(resolved, loan_ids(frame), output[PD_COL].to_numpy(dtype=float))
    extra = [c for c in output.columns if c != PD_COL]
    return pd.concat([scored, output[extra]], axis=1) if extra else scored


def scored_frame(resolved: ScoringModel, ids: pd.Series, pd_values: np.ndarray) -> pd.DataFrame:
    """The scored table of ids and PDs."""
    return pd.DataFrame({
        ID_COL: ids.to_numpy(),
        PD_COL: pd_values,
        RATING_COL: rating_grades(pd_values),
        MODEL_NAME_COL: resolved.name,
        MODEL_VERSION_COL: resolved.version,
    })


# --- the score step ----------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    """What the score step did: the run, the model version, rows and mean PD."""

    run_id: str
    model: ScoringModel
    rows: int
    mean_pd: float
    output: str = ""  # where the scores are: the logged artifact's location, or output_path
    columns: tuple[str, ...] = ()


def recover_champion_reads(model_uri: str) -> None:
    """Before reading ``models:/name@alias`` or ``models:/name/Stage``: finish a promotion of
    that model that a dead process left half done, so no half-moved alias is read."""
    if model_uri.startswith("models:/"):
        name = re.split(r"[@/]", model_uri[len("models:/"):], maxsplit=1)[0]
        if name:
            recover_abandoned_promotion(name)


def check_engine(engine: str) -> str:
    """pandas or spark, or a clear error."""
    if engine not in ENGINES:
        raise PipelineError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}.")
    return engine


def score_and_log(model_uri: str, data_uri: str, engine: str = "pandas",
                  spark_master: str = "local[2]", output_path: str = "", reasons: int = 0
                  ) -> ScoreResult:
    """Score ``data_uri`` with ``model_uri`` in the step's run: logs data/scored.parquet, or
    with Spark and an ``output_path`` writes the scores there (a data-lake path) instead. On
    Spark ``data_uri`` may be a Parquet data set (a directory, partitioned as a lake holds a
    book, ``month=2024-01/...``): its scores are written partitioned by the same columns,
    which they keep (tag ``pd.partitioned_by``).

    Everything that can fail on the user's input (model, data, signature, paths) is checked
    before the run logs anything.
    """
    check_engine(engine)
    check_reasons(reasons)
    if engine == "pandas" and output_path:
        raise PipelineError("output_path is for engine=spark; pandas logs data/scored.parquet.")
    check_spark_paths(spark_master if engine == "spark" else "local", data_uri, output_path)
    recover_champion_reads(model_uri)
    resolved = resolve_model(model_uri)
    params = {"model_uri": model_uri, "data_uri": data_uri, "engine": engine,
              "reasons": str(reasons)}
    if engine == "pandas":
        scored = score_loans(resolved, read_loans(data_uri), reasons)
        return _log_scored(params, resolved, len(scored), float(scored[PD_COL].mean()),
                           lambda: log_dataframe(scored, SCORED_ARTIFACT), tuple(scored.columns))
    spark = spark_session(spark_master)
    loans = read_parquet(spark, local_input_path(data_uri), f"data_uri '{data_uri}'")
    partitions = partition_columns(loans)
    scored_spark = score_spark(resolved, loans, spark, reasons, keep=partitions,
                               what=f"the data '{data_uri}'")
    params.update({"spark_master": spark_master, "output_path": output_path})
    tags = {"pd.partitioned_by": ",".join(partitions)} if partitions else {}
    columns = tuple(scored_spark.columns)
    if output_path:
        rows, mean_pd = write_spark(scored_spark, output_path, spark, partitions)
        return _log_scored(params, resolved, rows, mean_pd, lambda: None, columns, output_path,
                           tags)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / Path(SCORED_ARTIFACT).name)
        rows, mean_pd = write_spark(scored_spark, out, spark, partitions)
        return _log_scored(params, resolved, rows, mean_pd,
                           lambda: mlflow.log_artifacts(out, artifact_path=SCORED_ARTIFACT),
                           columns, tags=tags)


def _log_scored(params: dict[str, str], resolved: ScoringModel, rows: int, mean_pd: float,
                log_output, columns: tuple[str, ...], output_path: str = "",
                tags: dict[str, str] | None = None) -> ScoreResult:
    with step_run("score", f"score-{resolved.name}-v{resolved.version or '-'}") as run:
        log_params_once(params)
        mlflow.set_tags({"pd.scored_model_uri": resolved.uri,
                         "pd.scored_model_name": resolved.name,
                         "pd.scored_model_version": resolved.version, **(tags or {})})
        mlflow.log_metrics({"rows_scored": rows, "mean_pd": mean_pd})
        log_output()
        log.info("scored %d loans with %s; mean PD %.4f", rows, resolved.uri, mean_pd)
        output = output_path or mlflow.get_artifact_uri(SCORED_ARTIFACT)
        return ScoreResult(run.info.run_id, resolved, rows, mean_pd, output, columns)
