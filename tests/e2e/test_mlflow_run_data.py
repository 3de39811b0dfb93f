"""Data sources through real ``mlflow run``: a bad file refused (German credit end to end is
README.md's own block, run by test_readme.py)."""

from __future__ import annotations

import subprocess
import sys

from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run


def _mlflow_run(args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mlflow", "run", str(PROJECT_ROOT), "--env-manager", "local",
               "--experiment-name", EXPERIMENT_NAME, *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env_without_mlflow_run(),
                          capture_output=True, text=True, timeout=900)


def _runs(entry_point: str) -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.`mlflow.project.entryPoint` = '{entry_point}'")


def test_a_bad_file_fails_mlflow_run_with_the_one_line_message(tracking_uri, tmp_path):
    bad = tmp_path / "loans.csv"
    bad.write_text("income,bad_flag\n100,0\n200,1,9\n")
    result = _mlflow_run(["-e", "generate", "-P", f"source={bad}", "-P", "target=bad_flag"])
    assert result.returncode != 0
    assert f"error: {bad}: row at line 3 has 3 fields but the header has 2" in result.stderr
    (run,) = _runs("generate")
    assert run.info.status == "FAILED"
    assert MlflowClient().list_artifacts(run.info.run_id) == []
