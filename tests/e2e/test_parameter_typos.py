"""A -P name the entry point does not declare is refused through a real ``mlflow run``
before any work (exit 2, one line with a suggestion), and a run that carries one, as runs
from before this check did, is never reused."""

from __future__ import annotations

import subprocess

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.config import TAG_CODE_FINGERPRINT
from pd_lib.mlflow_layer.building.training_data import resolve_data_uri
from pd_lib.mlflow_layer.fingerprint import code_fingerprint
from pd_lib.mlflow_layer.run_params import as_mlflow_param
from pd_lib.mlflow_layer.runner.runs import find_finished_run, full_params
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run


def _mlflow_run(tmp_path, *params: str) -> subprocess.CompletedProcess:
    args = [a for p in params for a in ("-P", p)]
    return subprocess.run(
        ["mlflow", "run", str(PROJECT_ROOT), "-e", "generate", "--env-manager", "local",
         "--experiment-name", "PD_Classification_Experiment", *args],
        cwd=tmp_path, env=env_without_mlflow_run(), capture_output=True, text=True,
        timeout=300)


def test_a_kebab_case_typo_is_refused_and_leaves_nothing_to_reuse(tracking_uri, tmp_path):
    done = _mlflow_run(tmp_path, "n-samples=500")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert "-P n-samples is not a parameter of generate" in errors[0]
    assert "did you mean -P n_samples?" in errors[0]
    client = MlflowClient()
    experiment = client.get_experiment_by_name("PD_Classification_Experiment").experiment_id
    runs = client.search_runs([experiment])
    assert [r.info.status for r in runs] == ["FAILED"]  # no loans logged, nothing finished
    assert "rows" not in runs[0].data.metrics
    assert find_finished_run(experiment, "generate", full_params("generate", {})) is None


def test_an_unknown_name_is_refused_with_the_entry_points_parameters(tracking_uri, tmp_path):
    done = _mlflow_run(tmp_path, "n_sample=500")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "did you mean -P n_samples?" in errors[0]
    assert "its parameters are source, n_samples" in errors[0]


def test_a_finished_run_that_carries_a_typo_is_never_reused(store):
    """A run from before the check: default parameters plus ``n-samples`` (500 loans); the
    same run without the typo would be reused."""
    defaults = full_params("generate", {})

    def finished_generate_run(extra: dict[str, str]) -> str:
        with mlflow.start_run(experiment_id=store) as run:
            mlflow.log_params({k: as_mlflow_param(v) for k, v in {**defaults, **extra}.items()})
            mlflow.set_tags({"mlflow.project.entryPoint": "generate",
                             TAG_CODE_FINGERPRINT: code_fingerprint()})
        return run.info.run_id

    poisoned = finished_generate_run({"n-samples": "500"})
    assert find_finished_run(store, "generate", defaults) is None
    with mlflow.start_run(experiment_id=store):
        uri, how = resolve_data_uri("", store)  # train's "newest default generate run"
    assert poisoned not in uri and how == "generated here with generate's defaults"
    clean = finished_generate_run({})
    assert find_finished_run(store, "generate", defaults).info.run_id == clean
