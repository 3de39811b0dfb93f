"""Batch scoring: a registered PD model on a loan book, with pandas or with Spark.

Both engines give, per loan: ``loan_id``, ``pd`` (the model's pyfunc output), ``rating`` (the
master-scale grade of the PD), ``model_name`` and ``model_version``. The model URI is resolved
to one version first, so a promotion during scoring cannot mix two models. The input is
checked against the model's signature before anything is scored or logged.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient

from pd_lib.config import ID_COL, MASTER_SCALE, PD_COL, SCORED_ARTIFACT
from pd_lib.errors import PipelineError
from pd_lib.master_scale import assign_grades, check_scale
from pd_lib.tracking import download_artifact, log_dataframe, log_params_once, step_run

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

log = logging.getLogger("pd_pipeline")

RATING_COL = "rating"
MODEL_NAME_COL = "model_name"
MODEL_VERSION_COL = "model_version"
SCORED_COLUMNS = (ID_COL, PD_COL, RATING_COL, MODEL_NAME_COL, MODEL_VERSION_COL)
ENGINES = ("pandas", "spark")
# MLflow signature types -> the kind of column that satisfies them.
SIGNATURE_KINDS = {
    "double": "numeric", "float": "numeric", "long": "numeric", "integer": "numeric",
    "boolean": "bool", "string": "string", "datetime": "datetime", "binary": "binary",
}


@dataclass(frozen=True)
class ScoringModel:
    """A model resolved to one version: its pinned URI, name, version and signature."""

    uri: str
    name: str
    version: str
    signature: ModelSignature


# --- the model ---------------------------------------------------------------------------


def resolve_model(model_uri: str) -> ScoringModel:
    """Pin ``model_uri`` (models:/name@alias, models:/name/Stage, models:/name/3, runs:/...)
    to one version and read its signature; a clear error if it does not exist or has none."""
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    uri, name, version = model_uri, model_uri, ""
    try:
        if model_uri.startswith("models:/"):
            resolved = get_model_name_and_version(MlflowClient(), model_uri)
            if len(resolved) == 2:
                name, version = resolved
                uri = f"models:/{name}/{version}"
        info = mlflow.models.get_model_info(uri)
    except (MlflowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(
            f"cannot find model '{model_uri}' ({first}); check the name, alias, stage or run id "
            "in mlflow ui (the champion exists only after a promote to Production)."
        ) from None
    if info.signature is None or info.signature.inputs is None:
        raise PipelineError(f"model '{model_uri}' has no input signature; score only models "
                            "logged by the train or tune step.")
    return ScoringModel(uri=uri, name=name, version=str(version), signature=info.signature)


# --- checking the input ------------------------------------------------------------------


def input_columns(signature: ModelSignature) -> list[tuple[str, str, bool]]:
    """(column, expected kind, required) per input of the signature."""
    columns = []
    for spec in signature.inputs.inputs:
        type_name = getattr(spec.type, "name", str(spec.type))
        columns.append((spec.name, SIGNATURE_KINDS.get(type_name, type_name),
                        getattr(spec, "required", True)))
    return columns


def pandas_kind(dtype) -> str:
    """numeric, bool, string, datetime or other, for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "string"
    return "other"


def spark_kind(data_type) -> str:
    """numeric, bool, string, datetime or other, for a Spark SQL type."""
    name = type(data_type).__name__
    if name in ("DoubleType", "FloatType", "LongType", "IntegerType", "ShortType", "ByteType",
                "DecimalType"):
        return "numeric"
    return {"BooleanType": "bool", "StringType": "string", "TimestampType": "datetime",
            "TimestampNTZType": "datetime", "DateType": "datetime",
            "BinaryType": "binary"}.get(name, "other")


def check_columns(kinds: Mapping[str, str], signature: ModelSignature, where: str) -> None:
    """Every required input of the signature is a column of ``kinds`` (column -> kind) of the
    right kind; else one line naming the columns and what the model expects."""
    missing = [name for name, _, required in input_columns(signature)
               if required and name not in kinds]
    if missing:
        raise PipelineError(
            f"{where} lacks column(s) {', '.join(missing)} that the model needs; score data with "
            "the columns the model was trained on (its signature is in mlflow ui)."
        )
    wrong = [f"{name} is {kinds[name]}, model expects {kind}"
             for name, kind, _ in input_columns(signature)
             if name in kinds and kinds[name] != kind]
    if wrong:
        raise PipelineError(f"{where} has mistyped column(s): {'; '.join(wrong)}; fix their "
                            "type in the file (e.g. numbers stored as text).")


# --- pandas ------------------------------------------------------------------------------


def read_loans(data_uri: str) -> pd.DataFrame:
    """The loans to score, from a runs:/ URI or a .parquet or .csv path."""
    path = download_artifact(data_uri, "data_uri")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # pandas and pyarrow raise many types for a bad file
        raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet or CSV file "
                            f"({str(exc).splitlines()[0] if str(exc) else exc}).") from None


def loan_ids(frame: pd.DataFrame) -> pd.Series:
    """The loan_id column, or the row number when the book has none (with a warning)."""
    if ID_COL in frame.columns:
        return frame[ID_COL].reset_index(drop=True)
    log.warning("no '%s' column: using the row number as id", ID_COL)
    return pd.Series(np.arange(len(frame), dtype=np.int64), name=ID_COL)


def rating_grades(pd_values: Iterable[float]) -> np.ndarray:
    """The master-scale grade of each PD (pd_lib.master_scale.assign_grades)."""
    return assign_grades(np.asarray(pd_values, dtype=float)).astype(str)


def predict_pd(model: mlflow.pyfunc.PyFuncModel, features: pd.DataFrame) -> np.ndarray:
    """The pyfunc model's PDs for ``features`` (the ``pd`` column of its output)."""
    try:
        output = model.predict(features)
    except MlflowException as exc:  # the signature enforcement of pyfunc
        first = str(exc).strip().splitlines()[0]
        raise PipelineError(f"the model refused the input: {first}") from None
    if isinstance(output, pd.DataFrame):
        if PD_COL not in output.columns:
            raise PipelineError(f"the model returns columns {list(output.columns)}, not '{PD_COL}';"
                                " score models logged by the train or tune step.")
        output = output[PD_COL]
    return np.asarray(output, dtype=float)


def _resolved(model: str | ScoringModel) -> ScoringModel:
    return model if isinstance(model, ScoringModel) else resolve_model(model)


def score_frame(model_uri: str | ScoringModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Score a loan book with pandas: loan_id, pd, rating, model_name, model_version."""
    resolved = _resolved(model_uri)
    check_columns({c: pandas_kind(t) for c, t in frame.dtypes.items()}, resolved.signature,
                  "the data")
    model = mlflow.pyfunc.load_model(resolved.uri)
    return scored_frame(resolved, loan_ids(frame), predict_pd(model, frame))


def scored_frame(resolved: ScoringModel, ids: pd.Series, pd_values: np.ndarray) -> pd.DataFrame:
    """The scored table of ids and PDs."""
    return pd.DataFrame({
        ID_COL: ids.to_numpy(),
        PD_COL: pd_values,
        RATING_COL: rating_grades(pd_values),
        MODEL_NAME_COL: resolved.name,
        MODEL_VERSION_COL: resolved.version,
    })


# --- Spark -------------------------------------------------------------------------------


def spark_session(master: str = "local[2]", app_name: str = "pd-score") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (PYSPARK_PYTHON), so they
    have the same packages; ``master`` local[n], spark://..., yarn or k8s://..."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise PipelineError("engine=spark needs pyspark: pip install -r requirements-spark.txt"
                            ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               # pandas writes datetime64[ns] as Parquet TIMESTAMP(NANOS), which Spark refuses
               # ("Illegal Parquet type"); read such columns (origination_date, never a
               # feature) as integers instead.
               .config("spark.sql.legacy.parquet.nanosAsLong", "true"))
    if master.startswith("local"):  # one machine: nothing listens beyond loopback
        builder = (builder.config("spark.ui.enabled", "false")
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    return builder.getOrCreate()


def grade_column(pd_column):
    """A Spark column with the master-scale grade of ``pd_column``: the first grade whose
    upper bound is >= the PD (as :func:`pd_lib.master_scale.assign_grades`)."""
    from pyspark.sql import functions as F

    check_scale(MASTER_SCALE)
    clipped = F.least(F.greatest(pd_column, F.lit(0.0)), F.lit(1.0))
    expression = None
    for grade, upper in MASTER_SCALE:
        condition = clipped <= F.lit(float(upper))
        expression = (F.when(condition, F.lit(grade)) if expression is None
                      else expression.when(condition, F.lit(grade)))
    return expression.otherwise(F.lit(MASTER_SCALE[-1][0]))


def score_spark(model_uri: str | ScoringModel, frame: SparkDataFrame,
                spark: SparkSession) -> SparkDataFrame:
    """Score a Spark DataFrame through ``mlflow.pyfunc.spark_udf``: the same columns as
    :func:`score_frame`, computed on the executors."""
    from pyspark.sql import functions as F

    resolved = _resolved(model_uri)
    check_columns({f.name: spark_kind(f.dataType) for f in frame.schema.fields},
                  resolved.signature, "the data")
    names = [name for name, _, _ in input_columns(resolved.signature) if name in frame.columns]
    udf = mlflow.pyfunc.spark_udf(spark, resolved.uri, result_type="double", env_manager="local")
    ids = F.col(ID_COL) if ID_COL in frame.columns else F.monotonically_increasing_id()
    with_pd = frame.select(ids.alias(ID_COL), udf(*[F.col(n) for n in names]).alias(PD_COL))
    return with_pd.select(
        ID_COL, PD_COL, grade_column(F.col(PD_COL)).alias(RATING_COL),
        F.lit(resolved.name).alias(MODEL_NAME_COL),
        F.lit(resolved.version).alias(MODEL_VERSION_COL),
    )


def score_parquet_spark(model_uri: str, input_path: str, output_path: str,
                        spark: SparkSession) -> int:
    """Read Parquet at ``input_path``, score it on Spark, write Parquet to ``output_path``
    (a directory); returns the number of rows. Paths may be anything Spark reads (local,
    hdfs://, s3a://)."""
    frame = spark.read.parquet(input_path)
    scored = score_spark(model_uri, frame, spark)
    scored.write.mode("overwrite").parquet(output_path)
    return spark.read.parquet(output_path).count()


def local_input_path(data_uri: str) -> str:
    """A path Spark can read: runs:/ and models:/ URIs are downloaded first; paths and URLs
    Spark reads itself (hdfs://, s3a://) are passed on."""
    if data_uri.startswith(("runs:/", "models:/", "mlflow-artifacts:/")):
        return str(download_artifact(data_uri, "data_uri"))
    if "://" not in data_uri and not Path(data_uri).exists():
        raise PipelineError(f"data_uri '{data_uri}' does not exist; pass a runs:/ URI or a "
                            "Parquet path.")
    return data_uri


# --- the score step ----------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    """What the score step did: the run, the model version, rows and mean PD."""

    run_id: str
    model: ScoringModel
    rows: int
    mean_pd: float


def check_engine(engine: str) -> str:
    """pandas or spark, or a clear error."""
    if engine not in ENGINES:
        raise PipelineError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}.")
    return engine


def check_spark_paths(spark_master: str, data_uri: str, output_path: str) -> None:
    """On a cluster, executors read the input and write the output themselves: both must be
    paths the cluster shares, not files on this machine or MLflow artifacts."""
    if spark_master.startswith("local"):
        return
    if data_uri.startswith(("runs:/", "models:/", "mlflow-artifacts:/")) or "://" not in data_uri:
        raise PipelineError(
            f"engine=spark on '{spark_master}' needs a data_uri the executors can read "
            f"(hdfs://..., s3a://...); got '{data_uri}'. Copy the loans there first."
        )
    if not output_path:
        raise PipelineError(
            f"engine=spark on '{spark_master}' needs -P output_path=<hdfs://... or s3a://...> "
            "to write the scores to; a cluster cannot write into this machine's temp dir."
        )


def score_and_log(model_uri: str, data_uri: str, engine: str = "pandas",
                  spark_master: str = "local[2]", output_path: str = "") -> ScoreResult:
    """Score ``data_uri`` with ``model_uri`` in the step's run: logs data/scored.parquet, or
    with Spark and an ``output_path`` writes the scores there (a data-lake path) instead.

    Everything that can fail on the user's input (model, data, signature, paths) is checked
    before the run logs anything.
    """
    check_engine(engine)
    if engine == "pandas" and output_path:
        raise PipelineError("output_path is for engine=spark; pandas logs data/scored.parquet.")
    check_spark_paths(spark_master if engine == "spark" else "local", data_uri, output_path)
    resolved = resolve_model(model_uri)
    params = {"model_uri": model_uri, "data_uri": data_uri, "engine": engine}
    if engine == "pandas":
        scored = score_frame(resolved, read_loans(data_uri))
        return _log_scored(params, resolved, len(scored), float(scored[PD_COL].mean()),
                           lambda: log_dataframe(scored, SCORED_ARTIFACT))
    spark = spark_session(spark_master)
    scored_spark = score_spark(resolved, spark.read.parquet(local_input_path(data_uri)), spark)
    params.update({"spark_master": spark_master, "output_path": output_path})
    if output_path:
        rows, mean_pd = _write_spark(scored_spark, output_path, spark)
        return _log_scored(params, resolved, rows, mean_pd, lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / Path(SCORED_ARTIFACT).name)
        rows, mean_pd = _write_spark(scored_spark, out, spark)
        return _log_scored(params, resolved, rows, mean_pd,
                           lambda: mlflow.log_artifacts(out, artifact_path=SCORED_ARTIFACT))


def _write_spark(scored: SparkDataFrame, path: str, spark: SparkSession) -> tuple[int, float]:
    """Write the scores as Parquet to ``path``; rows and mean PD, read back from there."""
    from pyspark.sql import functions as F

    scored.write.mode("overwrite").parquet(path)
    summary = spark.read.parquet(path).agg(F.count(F.lit(1)).alias("rows"),
                                           F.avg(PD_COL).alias("mean_pd")).collect()[0]
    mean_pd = summary["mean_pd"]
    return int(summary["rows"]), float("nan") if mean_pd is None else float(mean_pd)


def _log_scored(params: dict[str, str], resolved: ScoringModel, rows: int, mean_pd: float,
                log_output) -> ScoreResult:
    with step_run("score") as run:
        log_params_once(params)
        mlflow.set_tags({"pd.scored_model_uri": resolved.uri,
                         "pd.scored_model_name": resolved.name,
                         "pd.scored_model_version": resolved.version})
        mlflow.log_metrics({"rows_scored": rows, "mean_pd": mean_pd})
        log_output()
        log.info("scored %d loans with %s; mean PD %.4f", rows, resolved.uri, mean_pd)
        return ScoreResult(run.info.run_id, resolved, rows, mean_pd)
