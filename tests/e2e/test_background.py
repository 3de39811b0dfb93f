"""main's background step: the child run mlflow run makes, run in a process forked from the
step server; it fails its own run, and a cancelled one is stopped and marked KILLED."""

from __future__ import annotations

import time

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.background import TAG_BACKGROUND, start_in_background
from pd_lib.mlflow_layer.inprocess import run_in_process
from pd_lib.mlflow_layer.runs import full_params
from pd_lib.mlflow_layer.tracking import PROJECT_ROOT
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
