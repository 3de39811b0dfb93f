"""Shared fixtures: a real temporary SQLite MLflow store per test, small seeded data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner

from pd_lib.data import make_classification_loans

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MLFLOW_ENV_VARS = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")


@pytest.fixture(scope="session")
def _empty_store(tmp_path_factory) -> Path:
    """An empty, migrated SQLite store, made once and copied per test (migrations take ~2 s)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{path}", str(path.parent / "artifacts")).engine.dispose()
    return path


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch, _empty_store) -> str:
    """A fresh real SQLite tracking + registry store in tmp_path, set for this test."""
    db = tmp_path / "mlflow.db"
    shutil.copy(_empty_store, db)
    uri = f"sqlite:///{db}"
    for name in MLFLOW_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # artifacts land in tmp_path/mlruns
    mlflow.set_tracking_uri(uri)
    mlflow.tracking.fluent._active_experiment_id = None  # an id from another test's store
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)


@pytest.fixture
def store(tracking_uri, tmp_path) -> str:
    """The id of a fresh experiment in the per-test store, artifacts under tmp_path."""
    from mlflow.tracking import MlflowClient

    return MlflowClient().create_experiment("t", artifact_location=str(tmp_path / "a"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def small_loans() -> pd.DataFrame:
    """600 tutorial-style loans, 20% defaulters, fixed seed."""
    return make_classification_loans(n_samples=600, n_features=6, default_rate=0.2, seed=7)


def invoke(runner: CliRunner, command, args: list[str]):
    """Invoke a step's click command in-process and return the result."""
    return runner.invoke(command, [str(a) for a in args], catch_exceptions=False)


def env_without_mlflow_run() -> dict[str, str]:
    """os.environ for a subprocess, without a parent run id leaking in."""
    return {k: v for k, v in os.environ.items() if k not in MLFLOW_ENV_VARS}
