"""The Spark session every engine=spark step uses, and this project's code shipped to its
executors. pyspark is imported only when a session is made."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from pd_lib.config import PD_LIB_DIR
from pd_lib.errors import PipelineError, first_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession


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
    session = builder.getOrCreate()
    ship_project_code(session)
    return session


PROJECT_ARCHIVE = "pd_lib.zip"
_CODE_SHIPPED: set[str] = set()


def ship_project_code(spark: SparkSession) -> None:
    """This project's ``pd_lib`` zipped and added to the executors' Python path
    (``SparkContext.addPyFile``), once per Spark application: the scoring function runs in
    their Python workers, which on a cluster have the packages of requirements.txt but not
    this project. The archive holds code only."""
    application = spark.sparkContext.applicationId
    if application in _CODE_SHIPPED:
        return
    folder = Path(tempfile.mkdtemp(prefix="pd-shipped-code-"))
    atexit.register(shutil.rmtree, folder, True)
    archive = folder / PROJECT_ARCHIVE
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(PD_LIB_DIR.rglob("*.py")):
            bundle.write(path, str(path.relative_to(PD_LIB_DIR.parent)))
    spark.sparkContext.addPyFile(str(archive))
    _CODE_SHIPPED.add(application)


def read_parquet(spark: SparkSession, path: str, what: str) -> SparkDataFrame:
    """The Parquet file or data set at ``path`` as a Spark DataFrame, or one line naming
    ``what`` (the parameter and its value) and Spark's reason."""
    try:
        return spark.read.parquet(path)
    except Exception as exc:  # Spark raises AnalysisException and others for a bad path
        raise PipelineError(f"{what} cannot be read as Parquet ({first_line(exc)}); pass a "
                            "Parquet file or a data set directory.") from None
