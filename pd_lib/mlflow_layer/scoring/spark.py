"""Scoring on Spark: a registered PD model applied on the executors (``mapInPandas``).

The same columns as pandas scoring (:mod:`pd_lib.mlflow_layer.scoring.batch`), computed by the
same function in each Python worker, the model shipped to the executors as spark_udf ships it.
pyspark is imported only when a Spark function runs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pandas as pd

from pd_lib.config import ID_COL, MASTER_SCALE, MASTER_SCALE_DECIMALS, PD_COL
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.artifacts import download_artifact
from pd_lib.mlflow_layer.scoring_model import (
    MODEL_NAME_COL,
    MODEL_VERSION_COL,
    RATING_COL,
    ScoringModel,
    as_scoring_model,
    check_columns,
    load_scoring_model,
    pyfunc_output,
    signature_columns,
)
from pd_lib.validation.master_scale import check_scale

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession


def grade_column(pd_column):
    """A Spark column with the master-scale grade of ``pd_column``: the first grade whose
    upper bound is >= the PD rounded to MASTER_SCALE_DECIMALS places, by the same IEEE
    arithmetic as numpy.round (rint(PD * 10^d) / 10^d), as
    :func:`pd_lib.validation.master_scale.assign_grades`. PDs outside [0, 1] are clipped
    here (a model's output; the pandas path refuses them)."""
    from pyspark.sql import functions as F

    check_scale(MASTER_SCALE)
    clipped = F.least(F.greatest(pd_column, F.lit(0.0)), F.lit(1.0))
    scale = F.lit(float(10 ** MASTER_SCALE_DECIMALS))
    rounded = F.rint(clipped * scale) / scale
    expression = None
    for grade, upper in MASTER_SCALE:
        condition = rounded <= F.lit(float(upper))
        expression = (F.when(condition, F.lit(grade)) if expression is None
                      else expression.when(condition, F.lit(grade)))
    return expression.otherwise(F.lit(MASTER_SCALE[-1][0]))


def score_spark(model_uri: str | ScoringModel, frame: SparkDataFrame,
                spark: SparkSession, reasons: int = 0, keep: Sequence[str] = (),
                what: str = "the data") -> SparkDataFrame:
    """Score a Spark DataFrame on the executors: the same columns as
    :func:`pd_lib.mlflow_layer.scoring.batch.score_loans` (with ``reasons`` > 0 the reason columns
    too), by the same function (:func:`pyfunc_output`) in each Python worker; the columns
    ``keep`` of ``frame`` follow them, so that monitoring aggregates each PD with its loan's
    characteristics and a partitioned book's scores keep its partition columns. ``what``
    names the data in a refusal (its path).

    Why not ``mlflow.pyfunc.spark_udf``: it runs pyfunc's ``predict``, whose schema check
    walks every value of an ``Any`` input in Python, 5x the model's own time per batch
    (mlflow_internals.model_implementation); the columns were checked here already."""
    from pyspark.sql import functions as F

    resolved = as_scoring_model(model_uri)
    check_columns({f.name: spark_kind(f.dataType) for f in frame.schema.fields},
                  resolved.signature, what)
    names = signature_columns(resolved.signature, frame.columns)
    ids = F.col(ID_COL) if ID_COL in frame.columns else F.monotonically_increasing_id()
    kept = [c for c in keep if c not in (ID_COL, PD_COL)]
    columns = list(dict.fromkeys([*names, *kept]))
    with_id = frame.select(ids.alias(ID_COL), *columns)
    extra = _output_fields(resolved, with_id.select(*names).limit(1).toPandas(), reasons)
    schema = ", ".join([f"{ID_COL} {with_id.schema[ID_COL].dataType.simpleString()}",
                        f"{PD_COL} double", *[f"{name} {kind}" for name, kind in extra],
                        *[f"`{c}` {with_id.schema[c].dataType.simpleString()}" for c in kept]])
    fields = [PD_COL, *[name for name, _ in extra]]
    archive = ship_model(spark, resolved)

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = worker_model(archive)
        for batch in batches:
            output = pyfunc_output(model, batch[names], reasons)[fields]
            yield pd.concat([batch[[ID_COL]].reset_index(drop=True), output,
                             batch[kept].reset_index(drop=True)], axis=1)

    scored = with_id.mapInPandas(score_batches, schema)
    common = [grade_column(F.col(PD_COL)).alias(RATING_COL),
              F.lit(resolved.name).alias(MODEL_NAME_COL),
              F.lit(resolved.version).alias(MODEL_VERSION_COL)]
    return scored.select(ID_COL, PD_COL, *common, *fields[1:], *kept)


def _output_fields(resolved: ScoringModel, sample: pd.DataFrame, reasons: int
                   ) -> list[tuple[str, str]]:
    """The model's output columns besides ``pd`` with their Spark types (a scorecard's score
    double, reasons reason_i string), read from its output for one row on the driver."""
    output = pyfunc_output(load_scoring_model(resolved), sample, reasons)
    return [(c, "double" if pd.api.types.is_numeric_dtype(output[c]) else "string")
            for c in output.columns if c != PD_COL]


_SHIPPED: dict[tuple[str, str], str] = {}
_LOADED: dict[str, mlflow.pyfunc.PyFuncModel] = {}


def ship_model(spark: SparkSession, resolved: ScoringModel) -> str:
    """The model's files zipped and handed to Spark (``SparkContext.addFile``), once per
    session, store and version, as spark_udf ships them; returns the archive's name, which
    :func:`worker_model` opens on an executor. The archive holds the model only, no loans."""
    key = (spark.sparkContext.applicationId, mlflow.get_tracking_uri(), resolved.uri)
    if key not in _SHIPPED:
        folder = Path(tempfile.mkdtemp(prefix="pd-shipped-model-"))
        atexit.register(shutil.rmtree, folder, True)
        model_dir = download_artifact(resolved.uri, "model_uri", str(folder / "download"))
        name = f"pd-model-{uuid.uuid4().hex}"  # a worker keeps what it loaded by this name
        archive = shutil.make_archive(str(folder / name), "zip", model_dir)
        spark.sparkContext.addFile(archive)
        _SHIPPED[key] = Path(archive).name
    return _SHIPPED[key]


def worker_model(archive: str) -> mlflow.pyfunc.PyFuncModel:
    """On an executor's Python worker: the model shipped as ``archive``, unpacked and loaded
    once per worker process (safe loading: our flavor's trusted types)."""
    if archive not in _LOADED:
        from pyspark import SparkFiles

        folder = tempfile.mkdtemp(prefix="pd-worker-model-")
        atexit.register(shutil.rmtree, folder, True)
        shutil.unpack_archive(SparkFiles.get(archive), folder, "zip")
        _LOADED[archive] = mlflow.pyfunc.load_model(folder)
    return _LOADED[archive]


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


def check_spark_paths(spark_master: str, data_uri: str, output_path: str | None) -> None:
    """On a cluster, executors read the input and write the output themselves: both must be
    paths the cluster shares, not files on this machine or MLflow artifacts (``output_path``
    None: the step writes nothing there, as monitor)."""
    if spark_master.startswith("local"):
        return
    if data_uri.startswith(("runs:/", "models:/", "mlflow-artifacts:/")) or "://" not in data_uri:
        raise PipelineError(
            f"engine=spark on '{spark_master}' needs a data_uri the executors can read "
            f"(hdfs://..., s3a://...); got '{data_uri}'. Copy the loans there first."
        )
    if output_path is not None and not output_path:
        raise PipelineError(
            f"engine=spark on '{spark_master}' needs -P output_path=<hdfs://... or s3a://...> "
            "to write the scores to; a cluster cannot write into this machine's temp dir."
        )


def write_spark(scored: SparkDataFrame, path: str, spark: SparkSession,
                partition_by: Sequence[str] = ()) -> tuple[int, float]:
    """Write the scores as Parquet to ``path``, in one folder per value of ``partition_by``
    (if any); rows and mean PD, read back from there."""
    from pyspark.sql import functions as F

    scored.write.mode("overwrite").partitionBy(*partition_by).parquet(path)
    summary = spark.read.parquet(path).agg(F.count(F.lit(1)).alias("rows"),
                                           F.avg(PD_COL).alias("mean_pd")).collect()[0]
    mean_pd = summary["mean_pd"]
    return int(summary["rows"]), float("nan") if mean_pd is None else float(mean_pd)


def spark_kind(data_type) -> str:
    """numeric, bool, string, datetime or other, for a Spark SQL type."""
    name = type(data_type).__name__
    if name in ("DoubleType", "FloatType", "LongType", "IntegerType", "ShortType", "ByteType",
                "DecimalType"):
        return "numeric"
    return {"BooleanType": "bool", "StringType": "string", "TimestampType": "datetime",
            "TimestampNTZType": "datetime", "DateType": "datetime",
            "BinaryType": "binary"}.get(name, "other")
