"""End-to-end fixtures: a real temporary SQLite MLflow store per test, and the click runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner

from pd_lib.mlflow_layer.mlflow_internals import create_sqlite_store, forget_active_experiment
from pd_lib.mlflow_layer.runner.background import start_step_server
from tests.helpers import MLFLOW_ENV_VARS


@pytest.fixture(scope="session", autouse=True)
def _step_server() -> None:
    """main's step server, started the way main starts it: before anything loads a logged
    model (loading one puts the model's code directory first on sys.path, and a server
    started later would import pd_lib from there)."""
    from steps.main import BACKGROUND_PRELOAD

    start_step_server(BACKGROUND_PRELOAD)


@pytest.fixture(scope="session")
def _empty_store(tmp_path_factory) -> Path:
    """An empty, migrated SQLite store, made once and copied per test (migrations take ~2 s)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    create_sqlite_store(f"sqlite:///{path}", str(path.parent / "artifacts"))
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
    forget_active_experiment()  # an id from another test's store
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    forget_active_experiment()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def store(tracking_uri, tmp_path) -> str:
    """The id of a fresh experiment in the per-test store, artifacts under tmp_path."""
    from mlflow.tracking import MlflowClient

    return MlflowClient().create_experiment("t", artifact_location=str(tmp_path / "a"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
