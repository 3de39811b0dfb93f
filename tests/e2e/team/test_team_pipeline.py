"""The pipeline against the team server: real ``mlflow run`` with MLFLOW_TRACKING_URI set to
it, then the registry, aliases and stages read back through the server's REST API."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME, PD_COL, SCORED_ARTIFACT
from pd_lib.data.schema import feature_columns
from steps.score import score
from tests.e2e.test_mlflow_run import MAIN_SMALL  # small data the promotion gate accepts
from tests.helpers import PROJECT_ROOT, invoke

EXPERIMENT = "team-pipeline"


def _rest(team_server, path: str, **params) -> dict:
    response = requests.get(f"{team_server.url}/api/2.0/mlflow/{path}", params=params,
                            auth=team_server.auth, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.heavy
def test_main_through_the_team_server(team_uri, team_server):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_RUN_ID",)}
    result = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(PROJECT_ROOT), "-e", "main",
         "--env-manager", "local", "--experiment-name", EXPERIMENT, *MAIN_SMALL],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    # Registry, aliases and stages, as the server's REST API reports them.
    champion = _rest(team_server, "registered-models/alias", name=MODEL_NAME,
                     alias="champion")["model_version"]
    versions = _rest(team_server, "model-versions/search",
                     filter=f"name='{MODEL_NAME}'")["model_versions"]
    assert {v["version"]: v["current_stage"] for v in versions} == {champion["version"]:
                                                                     "Production"}
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT)
    runs = MlflowClient().search_runs([experiment.experiment_id])
    by_step = {r.data.tags.get("mlflow.project.entryPoint"): r for r in runs}
    assert set(by_step) >= {"main", "generate", "train", "tune", "register", "promote"}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert champion["run_id"] in {by_step["train"].info.run_id, by_step["tune"].info.run_id}

    # Artifacts went through the server into its artifact root (clients share no disk).
    assert by_step["train"].info.artifact_uri.startswith("mlflow-artifacts:/")
    assert list(team_server.artifact_root.rglob("MLmodel"))

    # The champion loads through the server and scores; the score step logs through it too.
    data_uri = f"runs:/{by_step['generate'].info.run_id}/{LOANS_ARTIFACT}"
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    pd_values = model.predict(loans[feature_columns(loans)])[PD_COL].to_numpy()
    scored_result = invoke(CliRunner(), score, ["--data-uri", data_uri])
    assert scored_result.exit_code == 0, scored_result.output
    everywhere = [e.experiment_id for e in MlflowClient().search_experiments()]
    (score_run,) = MlflowClient().search_runs(
        everywhere, "tags.`mlflow.project.entryPoint` = 'score'")
    scored = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{score_run.info.run_id}/{SCORED_ARTIFACT}"))
    np.testing.assert_array_equal(scored[PD_COL].to_numpy(), pd_values)
    assert set(scored["model_version"]) == {champion["version"]}


def test_reproduce_through_the_team_server(team_uri, tmp_path):
    """A version registered on the PostgreSQL-backed server, rebuilt and compared through it
    (steps as real processes from a committed copy of the project; issue 30)."""
    from tests.e2e.test_reproduce import World, version_tags, with_loans
    from tests.snapshot_repo import snapshot_repository

    (tmp_path / "repo").mkdir()
    repo, commit = snapshot_repository(tmp_path / "repo")
    world = with_loans(World(repo, commit, team_uri, experiment="team-reproduce"), 1500)
    model_name = "pd_team_reproduce"
    version = world.train_and_register("--data-uri", world.data_uri, "--model",
                                       "logistic_regression", model_name=model_name)
    done = world.reproduce("--model-name", model_name, "--version", version)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    tags = version_tags(team_uri, version, model_name)
    assert tags["pd.reproduced"] == "yes" and float(tags["pd.reproduced_max_pd_diff"]) == 0
    rebuilt = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("team-reproduce").experiment_id],
        f"tags.`mlflow.parentRunId` = '{tags['pd.reproduced_run_id']}'")
    assert {r.data.tags["mlflow.project.entryPoint"] for r in rebuilt} == {"generate", "train"}
