"""Two first runs at once on a brand-new SQLite store (issue 14).

Both used to run MLflow's migrations on the same new file: one died with a traceback in 5 of
5 trials, and 2 of 5 left it half-migrated (``table _alembic_tmp_... already exists``). Now
every step creates and migrates the store under a file lock first.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME
from pd_lib.mlflow_layer.store import prepare_store, sqlite_path
from tests.helpers import MLFLOW_ENV_VARS, PROJECT_ROOT

TRIALS = 3
GENERATE = [sys.executable, "-m", "steps.generate", "--source", "make_classification",
            "--n-samples", "300", "--n-features", "4"]


def _env(tmp_path) -> dict[str, str]:
    """No tracking URI: the default store, ./mlflow.db in the working directory."""
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in MLFLOW_ENV_VARS and not k.startswith("MLFLOW_TRACKING")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


@pytest.mark.parametrize("trial", range(TRIALS))
def test_two_first_runs_at_once_on_a_new_default_store(tmp_path, trial):
    runs = [subprocess.Popen(GENERATE, cwd=tmp_path, env=_env(tmp_path), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        assert "Traceback" not in stderr
    db = tmp_path / "mlflow.db"
    tables = {row[0] for row in sqlite3.connect(db).execute(
        "select name from sqlite_master where type = 'table'")}
    assert not any(name.startswith("_alembic_tmp") for name in tables)
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    finished = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
    assert len(finished) == 2


def test_sqlite_path_of_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:///mlflow.db") == tmp_path / "mlflow.db"
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("http://127.0.0.1:5000") is None
    assert sqlite_path("postgresql://u:p@127.0.0.1/db") is None


def test_prepare_store_in_an_unwritable_place_is_one_line():
    from pd_lib.errors import PipelineError

    with pytest.raises(PipelineError, match="cannot create the MLflow store"):
        prepare_store("sqlite:////proc/no-such-dir/mlflow.db")
