"""main's background step: the child run mlflow run makes, run in a process forked from the
step server; it fails its own run, and a cancelled one is stopped and marked KILLED."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.config import PROJECT_ROOT
from pd_lib.mlflow_layer.runner.background import TAG_BACKGROUND, start_in_background
from pd_lib.mlflow_layer.runner.inprocess import run_in_process
from pd_lib.mlflow_layer.runner.runs import full_params
from steps import step_command


def test_a_background_step_is_a_child_run_of_the_active_run(store):
    params = full_params("generate", {"source": "make_classification", "n_samples": 300})
    with mlflow.start_run(experiment_id=store) as parent:
        step = start_in_background(PROJECT_ROOT, "generate", params, store, step_command)
        assert step.wait()
    run = MlflowClient().get_run(step.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[TAG_BACKGROUND] == "true"
    assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert run.data.tags["mlflow.project.entryPoint"] == "generate"
    assert run.data.metrics["rows"] == 300
    assert not step.process.is_alive()


def test_a_failing_background_step_fails_its_run(store):
    params = full_params("generate", {"source": "make_classification", "n_samples": 5})
    with mlflow.start_run(experiment_id=store):
        step = start_in_background(PROJECT_ROOT, "generate", params, store, step_command)
        assert not step.wait()
    assert step.process.exitcode == 1
    assert MlflowClient().get_run(step.run_id).info.status == "FAILED"


def test_a_cancelled_background_step_is_stopped_and_its_run_killed(store):
    client = MlflowClient()
    with mlflow.start_run(experiment_id=store):
        data = run_in_process(PROJECT_ROOT, "generate", full_params(
            "generate", {"n_samples": 20000}), store, step_command)
        params = full_params("tune", {"data_uri": f"runs:/{data}/data/loans.parquet",
                                      "grid": "learning_rate=0.05,0.1,0.2;max_depth=3,6,None",
                                      "cv": 5})
        step = start_in_background(PROJECT_ROOT, "tune", params, store, step_command)
        deadline = time.monotonic() + 120
        while "resolved_data_uri" not in client.get_run(step.run_id).data.params:
            assert step.process.is_alive() and time.monotonic() < deadline
            time.sleep(0.2)
        step.cancel()  # it is searching now: 6 candidates x 5 folds on 16,000 loans
    assert not step.process.is_alive()
    assert step.process.exitcode != 0
    assert client.get_run(step.run_id).info.status == "KILLED"


MAIN_LIKE = """
import sys, time
import mlflow
from pd_lib.mlflow_layer.runner.background import start_in_background, start_step_server
from pd_lib.mlflow_layer.runner.inprocess import run_in_process
from pd_lib.mlflow_layer.runner.runs import full_params
from pd_lib.config import PROJECT_ROOT
from steps import step_command
from steps.main import BACKGROUND_PRELOAD

start_step_server(BACKGROUND_PRELOAD)
experiment = sys.argv[1]
with mlflow.start_run(experiment_id=experiment):
    data = run_in_process(PROJECT_ROOT, "generate", full_params("generate", {}), experiment,
                          step_command)
    params = full_params("tune", {"data_uri": f"runs:/{data}/data/loans.parquet", "cv": 5,
                                  "grid": "learning_rate=0.05,0.1,0.2;max_depth=3,6,None"})
    step = start_in_background(PROJECT_ROOT, "tune", params, experiment, step_command)
    print("background pid", step.process.pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie has ended


def test_a_background_step_ends_itself_when_main_is_killed(store, tmp_path):
    script = tmp_path / "main_like.py"
    script.write_text(MAIN_LIKE)
    main = subprocess.Popen([sys.executable, str(script), store], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        lines = iter(main.stdout.readline, "")
        line = next((line for line in lines if line.startswith("background pid")), "")
        assert line, "the script never started its background step"
        pid = int(line.split()[-1])
        assert _alive(pid)
        main.kill()  # SIGKILL: main gets no chance to stop it
        main.wait()
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(pid)
    finally:
        if main.poll() is None:
            main.kill()
