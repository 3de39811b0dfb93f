"""A killed step's run does not stay RUNNING forever (issue 14)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME
from steps.generate import generate
from tests.e2e.test_steps import SMALL
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke

HANGING_STEP = """
import sys, time
from pd_lib.mlflow_layer.step_runs import step_run
with step_run("train") as run:
    print(run.info.run_id, flush=True)
    time.sleep(600)
"""


def test_a_killed_steps_run_is_marked_failed_by_the_next_step(tracking_uri, runner, tmp_path):
    env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": tracking_uri,
           "PYTHONPATH": str(PROJECT_ROOT)}
    # In tmp_path: the experiment it creates keeps its artifacts there (./mlruns).
    hanging = subprocess.Popen([sys.executable, "-c", HANGING_STEP], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        run_id = hanging.stdout.readline().strip()
        assert run_id, "the hanging step did not start its run"
        client = MlflowClient()
        assert client.get_run(run_id).info.status == "RUNNING"
        invoke(runner, generate, SMALL)  # its process is alive: left alone
        assert client.get_run(run_id).info.status == "RUNNING"
    finally:
        hanging.send_signal(signal.SIGKILL)
        hanging.wait(timeout=60)
    time.sleep(0.1)
    assert invoke(runner, generate, SMALL).exit_code == 0
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert "ended without finishing the run" in run.data.tags["pd.note"]
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    assert not client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
