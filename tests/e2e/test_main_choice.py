"""main registers only a candidate that passes the gate's blocking lights; with none, it stops
before register and says why, leaving the registry untouched."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.cores import usable_cores
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.runner.background import TAG_BACKGROUND
from pd_lib.mlflow_layer.runner.inprocess import TAG_IN_PROCESS
from pd_lib.mlflow_layer.runner.pipeline import MainResult, run_main, run_seconds
from pd_lib.mlflow_layer.runner.runs import entry_point_defaults
from pd_lib.mlflow_layer.runner.step_modes import parallel_steps
from pd_lib.modelling.search import parse_grid
from steps import step_command

# Ten fully grown trees give votes in tenths, not rates: without a calibration stage their
# PDs (many exactly 0 or 1) are far too extreme for the Hosmer-Lemeshow light.
OVERCONFIDENT = {"model": "random_forest", "n_estimators": "10", "min_samples_leaf": "1",
                 "calibration": "none", "tune_model": "random_forest",
                 "grid": "min_samples_leaf=1;n_estimators=10", "cv": "2"}


def _main_result(experiment_id: str, **overrides: str) -> tuple[dict, MainResult]:
    values = {k: v for k, v in entry_point_defaults("main").items() if k != "env_manager"}
    values.update({"n_samples": "3000", **overrides})
    with mlflow.start_run(experiment_id=experiment_id) as run:
        # all usable cores: tune beside train wherever there are two, whatever the load
        # the grid as main parses it; main's other entry checks are skipped, so that a bad
        # train parameter fails inside the train step (test_a_failing_train_stops_tune...)
        result = run_main(values, "local", step_command, usable_cores(),
                          parse_grid(values["grid"], values["tune_model"]))
    return MlflowClient().get_run(run.info.run_id).data, result


def _main(experiment_id: str, **overrides: str) -> dict:
    return _main_result(experiment_id, **overrides)[0]


def test_no_candidate_passing_the_lights_stops_before_register(store):
    with pytest.raises(PipelineError) as refused:
        _main(store, **OVERCONFIDENT)
    message = str(refused.value)
    assert "nothing was registered" in message
    assert "train run" in message and "tune run" in message and "red calibration light" in message
    assert "try -P model=logistic_regression" in message
    assert MlflowClient().search_registered_models() == []
    assert not MlflowClient().search_runs(
        [store], "tags.`mlflow.project.entryPoint` = 'register'")


def test_a_red_candidate_is_passed_over_for_one_that_passes(store):
    data = _main(store, **{**OVERCONFIDENT, "tune_model": "logistic_regression",
                           "grid": "C=0.1,1"})
    client = MlflowClient()
    assert data.params["best_run_id"] == data.tags["pd.step.tune"]
    train = client.get_run(data.tags["pd.step.train"]).data
    assert train.metrics["log_loss"] < float("inf")  # judged, then passed over for its lights
    assert client.get_model_version("pd_model_v1", "1").run_id == data.tags["pd.step.tune"]


def test_the_default_candidates_pass_and_the_lower_log_loss_is_registered(store):
    data = _main(store, grid="learning_rate=0.1;max_depth=3", cv="2")
    client = MlflowClient()
    train = client.get_run(data.tags["pd.step.train"]).data
    tune = client.get_run(data.tags["pd.step.tune"]).data
    expected = min((train, tune), key=lambda d: d.metrics["log_loss"])
    best = client.get_run(data.params["best_run_id"]).data
    assert best.metrics["log_loss"] == expected.metrics["log_loss"]
    assert train.params["selected_model"] in ("logistic_regression", "hist_gradient_boosting",
                                              "random_forest")
    assert "calibration_method" in train.params
    champion = client.get_model_version_by_alias("pd_model_v1", "champion")
    assert champion.run_id == data.params["best_run_id"]


def test_tune_runs_beside_train_where_two_cores_allow(store):
    data, result = _main_result(store, grid="learning_rate=0.1;max_depth=3", cv="2")
    client = MlflowClient()
    train = client.get_run(data.tags["pd.step.train"])
    tune = client.get_run(data.tags["pd.step.tune"])
    assert train.info.status == tune.info.status == "FINISHED"
    assert tune.data.tags["mlflow.parentRunId"] == train.data.tags["mlflow.parentRunId"]
    if not parallel_steps("local"):  # one usable core, or PD_PARALLEL_STEPS=0
        assert tune.data.tags[TAG_IN_PROCESS] == "true"
        return
    assert tune.data.tags[TAG_BACKGROUND] == "true"
    # tune started before train and ended after train had started: they overlapped
    assert tune.info.start_time < train.info.start_time < tune.info.end_time
    # the summary's seconds are tune's own, not the wait for train as well
    [record] = [s for s in result.steps if s.entry_point == "tune"]
    assert record.seconds == pytest.approx(run_seconds(tune))


@pytest.mark.skipif(not parallel_steps("local"), reason="tune runs beside train only on 2+ cores")
def test_a_failing_train_stops_tune_beside_it_and_registers_nothing(store, capsys):
    with pytest.raises(PipelineError, match="step train failed"):
        _main(store, model="no_such_kind")
    client = MlflowClient()
    [tune] = client.search_runs([store], "tags.`mlflow.project.entryPoint` = 'tune'")
    assert tune.data.tags[TAG_BACKGROUND] == "true"
    assert tune.info.status == "KILLED"
    assert "stopping tune run" in capsys.readouterr().err
    assert client.search_registered_models() == []
