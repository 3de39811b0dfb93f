"""Data sources through real ``mlflow run``: German credit end to end, a bad file refused."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.config import DATA_SUMMARY_ARTIFACT, EXPERIMENT_NAME, MODEL_NAME
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run

GERMAN = ["-P", "source=data/german_credit.csv", "-P", "target=creditability",
          "-P", "label_map=bad=1,good=0"]


def _mlflow_run(args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlflow", "run", str(PROJECT_ROOT), "--env-manager", "local",
               "--experiment-name", EXPERIMENT_NAME, *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env_without_mlflow_run(),
                          capture_output=True, text=True, timeout=900)


def _runs(entry_point: str) -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.`mlflow.project.entryPoint` = '{entry_point}'")


def test_german_credit_trains_registers_and_promotes_end_to_end(tracking_uri):
    small = ["-P", "n_estimators=30", "-P", "grid=n_estimators=10,30", "-P", "cv=2"]
    result = _mlflow_run(["-e", "main", *GERMAN, *small])
    assert result.returncode == 0, result.stderr[-5000:]
    (generate,) = _runs("generate")
    summary = json.loads(mlflow.artifacts.load_text(
        f"runs:/{generate.info.run_id}/{DATA_SUMMARY_ARTIFACT}"))
    assert summary["rows"] == 1000
    assert summary["default_rate"] == 0.3
    (train,) = _runs("train")
    assert train.data.metrics["roc_auc"] > 0.7  # the data carry signal; chance is 0.5
    assert abs(train.data.metrics["gini"] - (2 * train.data.metrics["roc_auc"] - 1)) < 1e-9
    champion = MlflowClient().get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.run_id in {train.info.run_id, _runs("tune")[0].info.run_id}


def test_a_bad_file_fails_mlflow_run_with_the_one_line_message(tracking_uri, tmp_path):
    bad = tmp_path / "loans.csv"
    bad.write_text("income,bad_flag\n100,0\n200,1,9\n")
    result = _mlflow_run(["-e", "generate", "-P", f"source={bad}", "-P", "target=bad_flag"])
    assert result.returncode != 0
    assert f"error: {bad}: row at line 3 has 3 fields but the header has 2" in result.stderr
    (run,) = _runs("generate")
    assert run.info.status == "FAILED"
    assert MlflowClient().list_artifacts(run.info.run_id) == []
