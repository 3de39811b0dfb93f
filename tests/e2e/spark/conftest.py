"""A real local Spark (local[2]) for the session, and a champion in a SQLite store."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.champion import make_champion, sqlite_tracking
from tests.servers import require


@pytest.fixture(scope="session")
def spark():
    require(importlib.util.find_spec("pyspark") is not None,
            "pyspark (pip install -r requirements-spark.txt)")
    require(shutil.which("java") is not None, "Java (Debian package default-jre-headless)")
    from pd_lib.spark_session import spark_session

    session = spark_session("local[2]", app_name="pd-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory) -> Iterator[tuple[Path, pd.DataFrame]]:
    """A champion in a fresh SQLite store (set as tracking URI), and its loans as Parquet."""
    workdir = tmp_path_factory.mktemp("spark-store")
    with sqlite_tracking(workdir):
        import mlflow

        data_uri = make_champion(CliRunner())
        loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
        path = workdir / "loans.parquet"
        loans.to_parquet(path, index=False)
        yield path, loans


@pytest.fixture(scope="module")
def synthetic_champion_store(tmp_path_factory) -> Iterator[tuple[Path, pd.DataFrame]]:
    """As champion_store, on the synthetic book: string categoricals and missing values."""
    workdir = tmp_path_factory.mktemp("spark-synthetic")
    with sqlite_tracking(workdir):
        import mlflow

        # Logistic regression: a 20-tree forest on 800 synthetic loans is miscalibrated enough
        # for the promotion gate's red Hosmer-Lemeshow light.
        data_uri = make_champion(CliRunner(), "--model", "logistic_regression", generate_args=(
            "--source", "synthetic", "--n-samples", 800, "--default-rate", 0.2, "--seed", 11))
        loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
        path = workdir / "loans.parquet"
        loans.to_parquet(path, index=False)
        yield path, loans
