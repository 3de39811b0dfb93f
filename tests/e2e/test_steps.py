"""The step CLIs on a real temporary SQLite store: what each run logs, and the registry."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, HOLDOUT_ARTIFACT, LOANS_ARTIFACT, MODEL_NAME, PD_COL
from steps.generate import generate
from steps.register import register
from steps.train import train
from steps.tune import tune
from tests.helpers import invoke

# The tutorial's data (synthetic is the default source since issue 4).
SMALL = ["--source", "make_classification", "--n-samples", 800, "--n-features", 6,
         "--default-rate", 0.2, "--seed", 5]


def _only_run(entry_point: str) -> mlflow.entities.Run:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    runs = MlflowClient().search_runs(
        [experiment.experiment_id],
        f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        order_by=["attributes.start_time DESC"],
    )
    return runs[0]


def _artifacts(run_id: str, path: str = "") -> set[str]:
    return {a.path for a in MlflowClient().list_artifacts(run_id, path)}


@pytest.fixture
def generated(tracking_uri, runner) -> str:
    """A generate run's loans URI."""
    assert invoke(runner, generate, SMALL).exit_code == 0
    return f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"


@pytest.fixture
def trained(generated, runner) -> str:
    """A train run id on the generated data."""
    result = invoke(runner, train, ["--data-uri", generated, "--n-estimators", 20])
    assert result.exit_code == 0, result.output
    return _only_run("train").info.run_id


def test_generate_logs_loans_in_the_tutorial_experiment(generated):
    run = _only_run("generate")
    assert run.info.status == "FINISHED"
    assert "data/loans.parquet" in _artifacts(run.info.run_id, "data")
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(generated))
    assert len(loans) == 800
    assert run.data.params["n_samples"] == "800"
    assert run.data.metrics["default_rate"] == pytest.approx(loans["default"].mean())
    assert len(run.data.tags["pd.data_sha256"]) == 64


def test_same_parameters_same_data_hash(tracking_uri, runner):
    for _ in range(2):
        assert invoke(runner, generate, SMALL).exit_code == 0
    runs = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name(EXPERIMENT_NAME).experiment_id])
    hashes = {r.data.tags["pd.data_sha256"] for r in runs}
    assert len(runs) == 2 and len(hashes) == 1


def test_train_logs_params_metrics_plots_model_and_holdout(trained, generated):
    run = MlflowClient().get_run(trained)
    assert run.data.params["n_estimators"] == "20"
    assert run.data.params["resolved_data_uri"] == generated
    for metric in ("accuracy", "roc_auc", "train_roc_auc"):
        assert 0.5 < run.data.metrics[metric] <= 1.0
    assert {"plots/roc_curve.png", "plots/confusion_matrix.png"} <= _artifacts(trained, "plots")
    holdout = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{trained}/{HOLDOUT_ARTIFACT}"))
    assert len(holdout) == 160 and holdout[PD_COL].between(0, 1).all()
    info = mlflow.models.get_model_info(f"runs:/{trained}/model")
    assert info.signature is not None and "feature_0" in info.signature.inputs.input_names()
    assert info.saved_input_example_info is not None
    model = mlflow.pyfunc.load_model(f"runs:/{trained}/model")
    np.testing.assert_allclose(model.predict(holdout)[PD_COL], holdout[PD_COL])


def test_train_reproduces_its_metrics(generated, runner):
    for _ in range(2):
        invoke(runner, train, ["--data-uri", generated, "--n-estimators", 10])
    runs = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name(EXPERIMENT_NAME).experiment_id],
        "tags.`mlflow.project.entryPoint` = 'train'")
    assert runs[0].data.metrics["roc_auc"] == runs[1].data.metrics["roc_auc"]


def test_train_without_data_uri_uses_newest_default_generate_run(tracking_uri, runner):
    assert invoke(runner, generate, []).exit_code == 0
    gen_id = _only_run("generate").info.run_id
    assert invoke(runner, train, ["--n-estimators", 5]).exit_code == 0
    run = _only_run("train")
    assert run.data.params["resolved_data_uri"] == f"runs:/{gen_id}/{LOANS_ARTIFACT}"
    # the choice says what it took: the run, its rows and source
    assert run.data.tags["pd.data_choice"] == (f"generate run {gen_id}: 10,000 loans, "
                                              "source synthetic")


def test_train_without_data_uri_or_generate_run_generates_its_own(tracking_uri, runner):
    assert invoke(runner, train, ["--n-estimators", 5]).exit_code == 0
    run = _only_run("train")
    assert run.data.params["resolved_data_uri"] == f"runs:/{run.info.run_id}/{LOANS_ARTIFACT}"
    assert "generated here" in run.data.tags["pd.data_choice"]
    assert "data/loans.parquet" in _artifacts(run.info.run_id, "data")


def test_tune_logs_one_child_per_candidate_and_the_best_model(generated, runner):
    result = invoke(runner, tune, ["--data-uri", generated,
                                   "--grid", "n_estimators=5,10;max_depth=3,None", "--cv", 2])
    assert result.exit_code == 0, result.output
    parent = _only_run("tune")
    children = MlflowClient().search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 4
    scores = [c.data.metrics["cv_roc_auc"] for c in children]
    assert all(0.5 < s <= 1 for s in scores)
    assert parent.data.metrics["best_cv_roc_auc"] == pytest.approx(max(scores))
    best = max(children, key=lambda c: c.data.metrics["cv_roc_auc"])
    assert parent.data.params["best_n_estimators"] == best.data.params["n_estimators"]
    info = mlflow.models.get_model_info(f"runs:/{parent.info.run_id}/model")
    assert info.signature is not None
    assert "roc_auc" in parent.data.metrics


def test_register_makes_one_version_per_run_with_tags(trained, runner, generated):
    # issue 13: a run already registered returns its version (a rerun adds nothing)
    for output in ("registered pd_model_v1 version 1", "already registered as pd_model_v1 "
                   "version 1"):
        result = invoke(runner, register, ["--run-id", trained])
        assert result.exit_code == 0 and output in result.output, result.output
    (version,) = MlflowClient().search_model_versions(f"name = '{MODEL_NAME}'")
    assert version.run_id == trained
    tags = version.tags
    assert tags["pd.data_uri"] == generated
    auc = MlflowClient().get_run(trained).data.metrics["roc_auc"]
    assert tags["pd.holdout_roc_auc"] == f"{auc:.6f}"
    assert len(tags["pd.data_sha256"]) == 64 and "pd.code_fingerprint" in tags
    assert "pd.git_commit" in tags or "mlflow.source.git.commit" in MlflowClient().get_run(
        trained).data.tags


def test_register_accepts_a_run_uri(trained, runner):
    assert invoke(runner, register, ["--run-id", f"runs:/{trained}/model"]).exit_code == 0
    assert MlflowClient().get_model_version(MODEL_NAME, "1").run_id == trained


def test_latest_loads_and_predicts(trained, runner, generated):
    invoke(runner, register, ["--run-id", trained])
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(generated))
    pds = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/latest").predict(loans.head(20))
    assert pds[PD_COL].between(0, 1).all() and len(pds) == 20
    sk = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/latest")
    np.testing.assert_allclose(sk.predict_proba(loans.head(20).drop(columns="default"))[:, 1],
                               pds[PD_COL])
