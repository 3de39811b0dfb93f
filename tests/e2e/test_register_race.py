"""Two registers of the same run at once make one version (issue 29: they made two), and a
model may not be named like the promote lock or with characters that cut URIs."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT
from pd_lib.mlflow_layer.governance import registry
from steps.generate import generate
from steps.register import register
from steps.train import train
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke


def test_two_registers_of_one_run_at_once_make_one_version(tracking_uri, runner, tmp_path):
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    done = invoke(runner, train, ["--data-uri", data_uri, "--model", "logistic_regression"])
    assert done.exit_code == 0, done.output
    run_id = _only_run("train").info.run_id
    # four at once, in threads that start together: without the lock they made two or more
    start = threading.Barrier(4)

    def racer(_: int) -> str:
        start.wait(timeout=60)
        return registry.register(run_id, "pd_model_v1").version.version

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(racer, range(4)))
    versions = MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    assert [str(v.version) for v in versions] == ["1"], got
    assert {str(v) for v in got} == {"1"}
    # and as two register processes at once, as two users would
    command = [sys.executable, "-m", "steps.register", "--run-id", run_id]
    env = {**env_without_mlflow_run(), "PYTHONPATH": str(PROJECT_ROOT)}
    racers = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [racer.communicate(timeout=300)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    versions = MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    assert [str(v.version) for v in versions] == ["1"], outputs


def test_names_the_registry_or_a_uri_would_misread_are_refused(tracking_uri, runner):
    for name in ("pd_model_v1.promote-lock", "pd/model", "pd$(id)", "line\nbreak", "",
                 "x" * 600):
        done = invoke(runner, register, ["--run-id", "0" * 32, "--model-name", name])
        assert done.exit_code == 2, (name, done.output)
        assert done.output.startswith("error: model_name"), done.output
        assert len(done.output.strip().splitlines()) == 1
    assert MlflowClient().search_registered_models() == []
