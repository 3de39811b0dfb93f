"""main stopped by SIGTERM (a pod deleted, a CI time-out, ``kill``) while train and tune run:
it stops tune, closes every run it started (none is left RUNNING), registers nothing, leaves
no process behind and says so in one line, exit 143. A real ``python -m steps.main`` on a
real SQLite store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from pd_lib.cores import THREADS_ENV, usable_cores
from pd_lib.errors import TERMINATED_EXIT_CODE
from pd_lib.mlflow_layer.runner.step_modes import parallel_steps
from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.heavy


def _runs(client: MlflowClient) -> dict[str, object]:
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return {r.data.tags.get("mlflow.project.entryPoint", "main"): r for r in runs}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_main_closes_its_runs_stops_tune_and_leaves_no_process(tracking_uri,
                                                                            tmp_path):
    beside = parallel_steps("local")
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(PROJECT_ROOT),
           # every usable core, whatever else runs now: tune beside train on two or more
           THREADS_ENV: str(usable_cores())}
    main = subprocess.Popen(
        [sys.executable, "-m", "steps.main", "--n-samples", "20000", "--env-manager", "local"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    client = MlflowClient()
    try:
        deadline = time.monotonic() + 240
        busy = ("train", "tune") if beside else ("train",)
        while not all(s in (runs := _runs(client)) and runs[s].info.status == "RUNNING"
                      and "resolved_data_uri" in runs[s].data.params for s in busy):
            assert main.poll() is None, main.stderr.read()
            assert time.monotonic() < deadline, "train (and tune) never got going"
            time.sleep(0.2)
        main.send_signal(signal.SIGTERM)  # to main alone: it must stop tune itself
        _, err = main.communicate(timeout=120)
    finally:
        if main.poll() is None:
            os.killpg(main.pid, signal.SIGKILL)
            main.wait()

    lines = [line for line in err.splitlines() if line.strip()]
    assert main.returncode == TERMINATED_EXIT_CODE, err
    assert lines[-1].startswith("error: stopped by SIGTERM;")
    assert "Traceback" not in err
    runs = _runs(client)
    assert runs["main"].info.status == "FAILED"
    assert runs["train"].info.status == "FAILED"
    if beside:
        assert runs["tune"].info.status == "KILLED"
    assert not [s for s, r in runs.items() if r.info.status == "RUNNING"]
    assert client.search_registered_models() == []
    deadline = time.monotonic() + 30  # the step server and tune's process end with main
    while _group_alive(main.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(main.pid)
