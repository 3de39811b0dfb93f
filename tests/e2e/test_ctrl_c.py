"""Ctrl-C during register (issue 29): a real ``python -m steps.register`` sends itself a real
SIGINT right after each of its registry writes in turn (tests/e2e/kill_at_write.py). Each
time: exit 130, one ``error:`` line and no traceback, its run closed as FAILED, no lock left,
at most one version; and the next register of the run finishes with exactly one."""

from __future__ import annotations

import subprocess
import sys

from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT
from pd_lib.errors import INTERRUPTED_EXIT_CODE
from pd_lib.mlflow_layer.governance.lock import LOCK_SUFFIX
from steps.generate import generate
from steps.register import register
from steps.train import train
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke

MODEL = "pd_ctrl_c"
MOST_WRITES = 10  # a register makes a few lock writes; more than this is a change to look at


def _register_interrupted_after_write(tracking_uri: str, run_id: str, position: int
                                      ) -> subprocess.CompletedProcess:
    env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run([sys.executable, "-m", "tests.e2e.kill_at_write", str(position), "INT",
                           "steps.register", "--run-id", run_id, "--model-name", MODEL],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_ctrl_c_at_every_write_of_register_is_one_line_and_leaves_no_lock(tracking_uri,
                                                                           runner):
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--model", "logistic_regression"])
    assert result.exit_code == 0, result.output
    run_id = _only_run("train").info.run_id
    client = MlflowClient()

    interrupted = 0
    for position in range(1, MOST_WRITES + 1):
        done = _register_interrupted_after_write(tracking_uri, run_id, position)
        if done.returncode == 0:  # fewer writes than ``position``: no Ctrl-C came
            break
        interrupted += 1
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == INTERRUPTED_EXIT_CODE, done.stderr
        assert errors == [errors[0]] and errors[0].startswith("error: stopped by Ctrl-C"), \
            done.stderr
        assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
        assert not client.search_registered_models(f"name LIKE '{MODEL}{LOCK_SUFFIX}%'")
        assert len(client.search_model_versions(f"name = '{MODEL}'")) <= 1
        registers = client.search_runs(
            [e.experiment_id for e in client.search_experiments()],
            "tags.`mlflow.project.entryPoint` = 'register'")
        assert registers and registers[0].info.status == "FAILED"
    else:
        raise AssertionError(f"register made more than {MOST_WRITES} registry writes")
    assert interrupted >= 2  # the lock's writes, at least: taken and released

    result = invoke(runner, register, ["--run-id", run_id, "--model-name", MODEL])
    assert result.exit_code == 0, result.output
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 1
