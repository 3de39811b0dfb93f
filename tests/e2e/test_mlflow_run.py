"""End to end through real ``mlflow run``: reuse, the card's train command, git URLs.

(main's quick start, run twice, is in test_readme.py.)
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run

# Depth-limited forests: unpruned ones give PDs of exactly 0 to loans that default, which the
# promotion gate refuses (Hosmer-Lemeshow p ~ 0 on this data; depth 6: p = 0.92). The team
# pipeline test runs main with these.
MAIN_SMALL = ["-P", "n_samples=1500", "-P", "n_estimators=10", "-P", "max_depth=6",
              "-P", "grid=n_estimators=5,10;max_depth=6", "-P", "cv=2"]


def _mlflow_run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlflow", "run", *args]
    result = subprocess.run(command, cwd=cwd, env=env_without_mlflow_run(), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def _runs(experiment_name: str, entry_point: str) -> list:
    experiment = MlflowClient().get_experiment_by_name(experiment_name)
    return MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        order_by=["attributes.start_time DESC"])


def test_main_reruns_a_step_whose_parameters_changed(tracking_uri):
    args = [str(PROJECT_ROOT), "--env-manager", "local", "--experiment-name", EXPERIMENT_NAME,
            "-e", "generate", "-P", "n_samples=300"]
    _mlflow_run(args, PROJECT_ROOT)
    from pd_lib.mlflow_layer.runner.runs import find_finished_run, full_params

    experiment_id = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME).experiment_id
    assert find_finished_run(experiment_id, "generate",
                             full_params("generate", {"n_samples": 300})) is not None
    assert find_finished_run(experiment_id, "generate",
                             full_params("generate", {"n_samples": 301})) is None
    assert find_finished_run(experiment_id, "generate",
                             full_params("generate", {"n_samples": 300}),
                             fingerprint="0" * 64) is None


def test_the_cards_train_command_works_on_a_fresh_store(tracking_uri, tmp_path):
    # Typed as the card has it (plus --env-manager local: no virtualenv build in tests), with
    # no experiment name: mlflow run puts the run in Default, and the step must not crash.
    _mlflow_run([str(PROJECT_ROOT), "-e", "train", "-P", "n_estimators=200",
                 "--env-manager", "local"], tmp_path)
    (run,) = _runs("Default", "train")
    assert run.info.status == "FINISHED"
    assert run.data.params["n_estimators"] == "200"
    # Its own data is the default source, the synthetic book (issue 4): the model learns,
    # and does not beat the true PD on the same holdout beyond noise.
    assert 0.7 < run.data.metrics["roc_auc"] < run.data.metrics["oracle_roc_auc"] + 0.01


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def git_daemon_serving(repository: Path, base: Path) -> Iterator[str]:
    """A bare clone of ``repository``, served read-only by git daemon on 127.0.0.1; its URL."""
    base.mkdir()
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repository),
                    str(base / "pd-pipeline.git")], check=True)
    port = _free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all",
                               f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}",
                               str(base)])
    url = f"git://127.0.0.1:{port}/pd-pipeline.git"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["git", "ls-remote", url], capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    try:
        yield url
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.fixture
def git_daemon(tmp_path):
    """The project's committed HEAD, served read-only by git daemon on 127.0.0.1."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    with git_daemon_serving(PROJECT_ROOT, tmp_path / "served") as url:
        yield url, commit


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_run_from_a_git_url(tracking_uri, tmp_path, git_daemon):
    url, commit = git_daemon
    _mlflow_run([url, "-e", "train", "--version", commit, "--env-manager", "local",
                 "--experiment-name", EXPERIMENT_NAME, "-P", "n_estimators=10"], tmp_path)
    (run,) = _runs(EXPERIMENT_NAME, "train")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.source.git.commit"] == commit
    assert run.data.tags["mlflow.source.name"].startswith(url)
    assert "roc_auc" in run.data.metrics
