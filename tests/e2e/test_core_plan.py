"""main's core plan on a real ``mlflow run``: pinned to one core it runs its steps one after
the other on that core; on two cores train and tune share them, one each, and the plan is
logged and tagged; either way it promotes and leaves no process behind."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from mlflow.tracking import MlflowClient

from pd_lib.cores import THREADS_ENV, usable_cores
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run

pytestmark = pytest.mark.heavy


def _main_on(cpus: set[int], tmp_path, **env: str) -> subprocess.CompletedProcess:
    """``mlflow run .`` main on a 10,000-loan book, pinned to ``cpus`` (as taskset does)."""
    full_env = {k: v for k, v in env_without_mlflow_run().items()
                if k not in (THREADS_ENV, "OMP_NUM_THREADS")}
    main = subprocess.run(
        ["mlflow", "run", str(PROJECT_ROOT), "--env-manager", "local", "--experiment-name",
         "PD_Classification_Experiment", "-P", "n_samples=10000"],
        cwd=tmp_path, env={**full_env, **env}, capture_output=True, text=True, timeout=900,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus), start_new_session=True)
    assert main.returncode == 0, main.stderr[-4000:]
    assert not _processes_on_this_store(main), "a process of main outlived it"
    return main


def _processes_on_this_store(done: subprocess.CompletedProcess) -> list[str]:
    """Live processes whose command line names this test's store (main's descendants)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and entry != str(os.getpid()):
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if os.environ["MLFLOW_TRACKING_URI"].encode() in handle.read():
                        found.append(entry)
            except OSError:
                continue
    return found


def _steps(client: MlflowClient) -> dict[str, object]:
    runs = client.search_runs([client.get_experiment_by_name(
        "PD_Classification_Experiment").experiment_id])
    return {r.data.tags["mlflow.project.entryPoint"]: r for r in runs
            if "mlflow.project.entryPoint" in r.data.tags}  # not model=auto's child runs


def test_main_pinned_to_one_core_runs_its_steps_on_it_and_promotes(tracking_uri, tmp_path):
    main = _main_on({sorted(os.sched_getaffinity(0))[0]}, tmp_path)
    output = main.stdout + main.stderr
    assert re.search(r"cores for main and its steps: 1 \(usable cores 1,", output)
    assert "core plan:" not in output  # one core: tune after train, no background step
    steps = _steps(MlflowClient())
    assert {s: r.data.tags["pd.threads"] for s, r in steps.items()} == {
        s: "1" for s in ("main", "generate", "train", "tune", "register", "promote")}
    assert "pd.core_plan" not in steps["main"].data.tags
    assert "is now Production" in output


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores")
def test_main_on_two_cores_gives_train_and_tune_one_each_and_promotes(tracking_uri, tmp_path):
    main = _main_on(set(sorted(os.sched_getaffinity(0))[:2]), tmp_path, **{THREADS_ENV: "2"})
    output = main.stdout + main.stderr
    plan = "2 cores: train 1, tune 1"
    assert f"core plan: {plan}" in output
    steps = _steps(MlflowClient())
    assert steps["main"].data.tags["pd.core_plan"].startswith(plan)
    shares = {s: int(r.data.tags["pd.threads"]) for s, r in steps.items()}
    assert shares["train"] + shares["tune"] <= 2  # side by side: never more than the cores
    assert shares["generate"] == shares["register"] == shares["promote"] == 2
    assert steps["tune"].data.tags.get("pd.background") == "true"
    assert "is now Production" in output
