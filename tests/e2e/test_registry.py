"""Stages and aliases in step, the champion gate, and bad input to register/promote."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME, PD_COL
from pd_lib.mlflow_layer.governance.lock import promote_lock
from steps.generate import generate
from steps.promote import promote
from steps.register import register
from steps.train import train
from steps.tune import tune
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import invoke

RF = ["--model", "random_forest"]  # the tutorial's model: known gate outcomes below


def _train_and_register(runner, data_uri: str, *args) -> str:
    assert invoke(runner, train, ["--data-uri", data_uri, *args]).exit_code == 0
    run_id = _only_run("train").info.run_id
    assert invoke(runner, register, ["--run-id", run_id]).exit_code == 0
    return run_id


def _state() -> dict:
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    model = client.get_registered_model(MODEL_NAME)
    return {"stages": {str(v.version): v.current_stage for v in versions},
            "aliases": {k: str(v) for k, v in model.aliases.items()},
            "tags": {str(v.version): dict(v.tags) for v in versions}}


@pytest.fixture
def data_uri(tracking_uri, runner) -> str:
    assert invoke(runner, generate, SMALL).exit_code == 0
    return f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"


@pytest.fixture
def two_versions(data_uri, runner) -> str:
    """Version 1 (a good forest) and version 2 (a one-stump forest) on the same data."""
    _train_and_register(runner, data_uri, *RF, "--n-estimators", 30)
    _train_and_register(runner, data_uri, *RF, "--n-estimators", 1, "--max-depth", 1)
    return data_uri


def test_stages_and_aliases_move_together(two_versions, runner):
    assert invoke(runner, promote, ["--version", 1, "--stage", "Staging"]).exit_code == 0
    assert _state()["aliases"] == {"challenger": "1"}
    assert invoke(runner, promote, ["--version", 1, "--stage", "Production"]).exit_code == 0
    state = _state()
    assert state["stages"] == {"1": "Production", "2": "None"}
    assert state["aliases"] == {"champion": "1"}  # no longer the challenger
    assert invoke(runner, promote, ["--version", 2, "--stage", "Staging"]).exit_code == 0
    assert _state()["aliases"] == {"champion": "1", "challenger": "2"}
    assert invoke(runner, promote, ["--version", 2, "--stage", "Archived"]).exit_code == 0
    state = _state()
    assert state["stages"] == {"1": "Production", "2": "Archived"}
    assert state["aliases"] == {"champion": "1"}


def test_production_and_champion_load_the_same_version(two_versions, runner):
    invoke(runner, promote, ["--version", 1, "--stage", "Production"])
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(two_versions)).head(30)
    by_stage = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/Production")
    by_alias = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    assert by_stage.metadata.run_id == by_alias.metadata.run_id
    pd.testing.assert_frame_equal(by_stage.predict(loans), by_alias.predict(loans))


def test_better_challenger_replaces_and_archives_the_champion(data_uri, runner):
    _train_and_register(runner, data_uri, *RF, "--n-estimators", 1, "--max-depth", 1)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0  # first: no champion
    _train_and_register(runner, data_uri, *RF, "--n-estimators", 30)
    result = invoke(runner, promote, [])  # newest version, to Production
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["stages"] == {"1": "Archived", "2": "Production"}
    assert state["aliases"] == {"champion": "2"}
    tags = state["tags"]["2"]
    assert tags["gate.champion_version"] == "1"
    assert float(tags["gate.challenger_roc_auc"]) > float(tags["gate.champion_roc_auc"])


def test_worse_challenger_is_refused_and_nothing_changes(two_versions, runner):
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    before = _state()
    result = invoke(runner, promote, ["--version", 2, "--stage", "Production"])
    assert result.exit_code == 2
    assert "promotion of pd_model_v1 version 2 to Production refused" in result.stderr
    assert "below champion version 1's" in result.stderr
    assert "Traceback" not in result.output
    assert _state() == before


def test_force_needs_a_reason_and_records_it(two_versions, runner):
    invoke(runner, promote, ["--version", 1])
    before = _state()
    result = invoke(runner, promote, ["--version", 2, "--force", "true"])
    assert result.exit_code == 2 and "force needs a reason" in result.stderr
    assert _state() == before
    result = invoke(runner, promote, ["--version", 2, "--force", "true",
                                      "--reason", "regulator asked for the simpler model"])
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["aliases"] == {"champion": "2"}
    assert state["stages"] == {"1": "Archived", "2": "Production"}
    tags = state["tags"]["2"]
    assert tags["gate.forced"] == "true"
    assert tags["gate.forced_reason"] == "regulator asked for the simpler model"
    assert "below champion version 1's" in tags["gate.overridden_failures"]
    assert tags["gate.forced_by"]


def test_promote_lock_is_exclusive_and_released(tracking_uri):
    with promote_lock(MODEL_NAME), pytest.raises(Exception, match="holds the lock"):
        with promote_lock(MODEL_NAME, wait_seconds=0.3):
            pass
    with promote_lock(MODEL_NAME, wait_seconds=0.3):
        pass  # released: can be taken again
    names = {m.name for m in MlflowClient().search_registered_models()}
    assert not any(n.endswith(".promote-lock") for n in names)


# --- bad input: one line, exit 2, registry unchanged ------------------------------------


def _assert_user_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_register_unknown_run(tracking_uri, runner):
    result = invoke(runner, register, ["--run-id", "0123456789abcdef0123456789abcdef"])
    _assert_user_error(result, "no run with id '0123456789abcdef0123456789abcdef'")


def test_register_run_without_model(data_uri, runner):
    gen_id = data_uri.split("/")[1]
    result = invoke(runner, register, ["--run-id", gen_id])
    _assert_user_error(result, f"run {gen_id} has no logged model")
    assert MlflowClient().search_registered_models() == []


def test_train_data_uri_that_resolves_to_nothing(tracking_uri, runner):
    result = invoke(runner, train, ["--data-uri", "runs:/0123456789abcdef0123456789abcdef/"
                                    "data/loans.parquet"])
    _assert_user_error(result, "data_uri 'runs:/0123456789abcdef0123456789abcdef/data/"
                       "loans.parquet' could not be resolved")
    run = _only_run("train")
    assert run.info.status == "FAILED"
    assert MlflowClient().list_artifacts(run.info.run_id) == []


def test_train_missing_local_file(tracking_uri, runner):
    _assert_user_error(invoke(runner, train, ["--data-uri", "nowhere/loans.parquet"]),
                       "'nowhere/loans.parquet' does not exist")


def test_train_negative_n_estimators(tracking_uri, runner):
    """0 means the kind's default (MLproject's default); below 0 is refused at the boundary."""
    _assert_user_error(invoke(runner, train, ["--n-estimators", -3]),
                       "n_estimators must be >= 0 (0 = the model's default); got -3")


def test_tune_malformed_grid(tracking_uri, runner):
    _assert_user_error(invoke(runner, tune, ["--grid", "n_estimators:5"]),
                       "grid: 'n_estimators:5' is malformed", "name=v1,v2;name=v1,v2")


def test_promote_unknown_stage(two_versions, runner):
    before = _state()
    _assert_user_error(invoke(runner, promote, ["--stage", "Prod"]),
                       "unknown stage 'Prod'", "Staging, Production, Archived")
    assert _state() == before


def test_promote_unknown_model(tracking_uri, runner):
    _assert_user_error(invoke(runner, promote, ["--model-name", "no_such_model"]),
                       "no registered model named 'no_such_model'")


def test_promote_unknown_version(two_versions, runner):
    before = _state()
    _assert_user_error(invoke(runner, promote, ["--version", 99]),
                       "model 'pd_model_v1' has no version '99'")
    assert _state() == before


def test_load_unknown_model_is_a_clear_error(tracking_uri):
    from pd_lib.errors import PipelineError
    from pd_lib.mlflow_layer.governance.registry import load_pd_model

    with pytest.raises(PipelineError, match="cannot load model 'models:/nope@champion'"):
        load_pd_model("models:/nope@champion")


def test_pd_column_survives_registry_roundtrip(two_versions, runner):
    invoke(runner, promote, ["--version", 1])
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(two_versions)).head(5)
    assert list(mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
                .predict(loans).columns) == [PD_COL]
