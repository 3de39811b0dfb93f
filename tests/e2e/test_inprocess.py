"""main's in-process steps: the same child runs as `mlflow run` subprocesses, minus a Python."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from pd_lib.config import PROJECT_ROOT
from pd_lib.mlflow_layer.run_params import as_mlflow_param
from pd_lib.mlflow_layer.runner.inprocess import TAG_IN_PROCESS, run_in_process, step_argv
from pd_lib.mlflow_layer.runner.runs import full_params
from steps import step_command
from steps.generate import generate

# Tags that differ between any two runs, or that only one way of running sets.
VOLATILE = {"mlflow.runName", TAG_IN_PROCESS, "pd.data_sha256", "pd.threads", "pd.pid",
            "pd.pid_start"}


def test_step_command_lines_are_split_like_a_shell():
    assert step_argv("python -m steps.tune --grid 'a=1;b=2' --reason ''") == (
        "steps.tune", ["--grid", "a=1;b=2", "--reason", ""])
    with pytest.raises(ValueError, match="not a 'python -m steps"):
        step_argv("bash run.sh")
    assert step_command("steps.generate") is generate


def test_in_process_child_is_the_run_mlflow_run_makes(store):
    params = full_params("generate", {"source": "make_classification", "n_samples": 300})
    client = MlflowClient()
    with mlflow.start_run(experiment_id=store) as parent:
        in_process = client.get_run(
            run_in_process(PROJECT_ROOT, "generate", params, store, step_command))
        assert mlflow.active_run().info.run_id == parent.info.run_id
        submitted = mlflow.projects.run(str(PROJECT_ROOT), entry_point="generate",
                                        parameters={**params, "n_samples": "301"},
                                        experiment_id=store, env_manager="local")
        subprocess_run = client.get_run(submitted.run_id)
    assert in_process.info.status == subprocess_run.info.status == "FINISHED"
    assert in_process.data.tags[TAG_IN_PROCESS] == "true"
    assert in_process.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert in_process.data.tags["mlflow.project.entryPoint"] == "generate"
    assert set(in_process.data.tags) - VOLATILE == set(subprocess_run.data.tags) - VOLATILE
    for key in set(in_process.data.tags) - VOLATILE:
        assert in_process.data.tags[key] == subprocess_run.data.tags[key], key
    assert in_process.data.params == {k: as_mlflow_param(v) for k, v in params.items()}
    assert set(subprocess_run.data.params) == set(in_process.data.params)
    assert in_process.data.metrics["rows"] == 300
    assert client.list_artifacts(in_process.info.run_id, "data")


def test_a_failing_step_fails_its_run_and_not_the_parent(store, capsys):
    params = full_params("generate", {"source": "make_classification", "n_samples": 5})
    client = MlflowClient()
    with mlflow.start_run(experiment_id=store) as parent:
        with pytest.raises(ExecutionException, match="failed"):
            run_in_process(PROJECT_ROOT, "generate", params, store, step_command)
        assert mlflow.active_run().info.run_id == parent.info.run_id
    assert "error: n_samples must be at least" in capsys.readouterr().err
    child = client.search_runs([store], "tags.`mlflow.project.entryPoint` = 'generate'")[0]
    assert child.info.status == "FAILED"
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


def test_a_bad_option_fails_its_run(store):
    params = full_params("generate", {"source": "make_classification", "n_samples": "many"})
    with mlflow.start_run(experiment_id=store):
        with pytest.raises(ExecutionException):
            run_in_process(PROJECT_ROOT, "generate", params, store, step_command)
    child = MlflowClient().search_runs([store], "tags.`mlflow.project.entryPoint` = 'generate'")
    assert child[0].info.status == "FAILED"
