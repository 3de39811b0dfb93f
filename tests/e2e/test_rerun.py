"""main reruns: generate, train and tune are reused; register and promote run again and
change nothing (the run already is a version, and that version already is the champion)."""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.governance import registry
from pd_lib.mlflow_layer.runner.pipeline import run_main
from pd_lib.mlflow_layer.runner.runs import entry_point_defaults
from pd_lib.params import check_model_values
from steps import step_command

STEPS = ("generate", "train", "tune", "register", "promote")


def _main(experiment_id: str) -> dict:
    params = {k: v for k, v in entry_point_defaults("main").items() if k != "env_manager"}
    params.update({"source": "make_classification", "n_samples": "400", "n_features": "4",
                   "n_estimators": "10", "grid": "learning_rate=0.1,0.3", "cv": "2"})
    with mlflow.start_run(experiment_id=experiment_id) as run:
        run_main(params, "local", step_command, None, check_model_values(params)["grid"])
    return MlflowClient().get_run(run.info.run_id).data.tags


def test_rerun_reuses_generate_train_tune_but_never_register_or_promote(store):
    first = _main(store)
    assert not any(k.startswith("pd.reused.") for k in first)
    version = MlflowClient().get_model_version("pd_model_v1", "1")
    assert version.current_stage == "Production" and "champion" in version.aliases

    again = _main(store)
    for step in ("generate", "train", "tune"):
        assert again[f"pd.reused.{step}"] == first[f"pd.step.{step}"]
    for step in ("register", "promote"):
        assert f"pd.reused.{step}" not in again
        assert again[f"pd.step.{step}"] != first[f"pd.step.{step}"]
    # register and promote ran again, and changed nothing: one version, still the champion
    (only,) = MlflowClient().search_model_versions("name = 'pd_model_v1'")
    assert str(only.version) == "1"
    assert MlflowClient().get_model_version("pd_model_v1", "1").current_stage == "Production"
    register_run = MlflowClient().get_run(again["pd.step.register"])
    assert register_run.data.params["newly_registered"] == "False"
    assert register_run.data.params["registered_version"] == "1"
    assert registry.get_version("pd_model_v1", None).run_id == version.run_id
