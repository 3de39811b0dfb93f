"""A registry that a rerun cannot litter (issue 13): register once per run, one model name
per portfolio, a no-op promote of the champion, runs named for what they did, and the
promote run's champion-versus-challenger page. In-process steps on a real SQLite store."""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME, REPORT_ARTIFACT
from pd_lib.mlflow_layer.governance.gate_report import COMPARISON_ARTIFACT
from steps.generate import generate
from steps.promote import promote
from steps.register import register
from steps.train import train
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import invoke

LOGISTIC = ["--model", "logistic_regression"]


def _runs(entry_point: str) -> list:
    experiment = MlflowClient().get_experiment_by_name("PD_Classification_Experiment")
    return MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        order_by=["attributes.start_time DESC"])


def _versions(name: str = MODEL_NAME) -> list:
    return sorted(MlflowClient().search_model_versions(f"name = '{name}'"),
                  key=lambda v: int(v.version))


def _registry_state() -> dict:
    client = MlflowClient()
    return {str(v.version): (v.current_stage, dict(v.tags), v.description)
            for v in _versions()} | {"aliases": dict(client.get_registered_model(MODEL_NAME)
                                                     .aliases)}


def _generate(runner, *extra) -> str:
    """generate SMALL, with ``extra`` options replacing SMALL's (an option given twice is
    refused: it is how a mistyped -P reaches a step)."""
    overridden = set(extra[::2])
    base = [a for i, a in enumerate(SMALL) if not (
        i % 2 == 0 and a in overridden or i % 2 == 1 and SMALL[i - 1] in overridden)]
    assert invoke(runner, generate, [*base, *extra]).exit_code == 0
    return f"runs:/{_runs('generate')[0].info.run_id}/{LOANS_ARTIFACT}"


def _train(runner, data_uri: str, *args) -> str:
    result = invoke(runner, train, ["--data-uri", data_uri, *args])
    assert result.exit_code == 0, result.output
    return _runs("train")[0].info.run_id


def test_register_and_promote_twice_change_nothing_and_name_their_runs(tracking_uri, runner,
                                                                       capfd):
    run_id = _train(runner, _generate(runner), *LOGISTIC)
    capfd.readouterr()
    first = invoke(runner, register, ["--run-id", run_id])
    assert first.exit_code == 0 and "registered pd_model_v1 version 1" in first.output
    promoted = invoke(runner, promote, [])
    assert promoted.exit_code == 0
    # no MLflow warning on the way: not the logged-model notice of register_model, not the
    # extra holdout columns (ids, flags, PDs) that pyfunc would ignore in promote's check
    shown = first.output + promoted.output + "".join(capfd.readouterr())
    assert "WARNING" not in shown, shown
    before = _registry_state()

    again = invoke(runner, register, ["--run-id", run_id])
    assert again.exit_code == 0
    assert "already registered as pd_model_v1 version 1" in again.output
    promoted_again = invoke(runner, promote, ["--version", "1"])
    assert promoted_again.exit_code == 0 and "nothing changed" in promoted_again.output
    assert _registry_state() == before
    assert [str(v.version) for v in _versions()] == ["1"]

    assert _only_run("train").info.run_name == "train-logistic_regression"
    assert {r.info.run_name for r in _runs("register")} == {"register-pd_model_v1-v1"}
    assert {r.info.run_name for r in _runs("promote")} == {"promote-pd_model_v1-v1-Production"}
    assert _runs("generate")[0].info.run_name == "generate-make_classification-800"

    # the version says what it is; the register run's report copy names the version
    version = MlflowClient().get_model_version(MODEL_NAME, "1")
    assert run_id in version.description and "Holdout ROC AUC" in version.description
    register_run = _runs("register")[-1]  # the first register run
    report = mlflow.artifacts.load_text(f"runs:/{register_run.info.run_id}/{REPORT_ARTIFACT}")
    assert "pd_model_v1 version 1 (registered" in report
    assert REPORT_ARTIFACT in version.description and register_run.info.run_id in \
        version.description


def test_a_model_of_other_columns_is_refused_before_anything_is_registered(tracking_uri,
                                                                           runner):
    run_id = _train(runner, _generate(runner), *LOGISTIC)
    assert invoke(runner, register, ["--run-id", run_id]).exit_code == 0
    other = _train(runner, _generate(runner, "--n-features", 4), *LOGISTIC)
    result = invoke(runner, register, ["--run-id", other])
    assert result.exit_code == 2
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert "-P model_name=" in line
    assert "without feature_4, feature_5" in line  # 6 features -> 4: the missing are named
    assert [str(v.version) for v in _versions()] == ["1"]
    # under its own name it registers
    assert invoke(runner, register, ["--run-id", other, "--model-name", "pd_other"]) \
        .exit_code == 0
    assert [str(v.version) for v in _versions("pd_other")] == ["1"]


def test_promote_logs_the_champion_versus_challenger_page(tracking_uri, runner):
    data_uri = _generate(runner)
    first = _train(runner, data_uri, *LOGISTIC)
    assert invoke(runner, register, ["--run-id", first]).exit_code == 0
    assert invoke(runner, promote, []).exit_code == 0
    second = _train(runner, data_uri, *LOGISTIC, "--seed", 7)
    assert invoke(runner, register, ["--run-id", second]).exit_code == 0
    result = invoke(runner, promote, ["--force", "true", "--reason", "the page either way"])
    assert result.exit_code == 0, result.output
    promote_run = _runs("promote")[0]
    page = mlflow.artifacts.load_text(f"runs:/{promote_run.info.run_id}/{COMPARISON_ARTIFACT}")
    for expected in ("Challenger v2", "Champion v1", "Verdict:", "ROC AUC", "Calibration slope",
                     "roc_champion_vs_challenger", "calibration_champion_vs_challenger"):
        assert expected in page, expected
    version_2 = MlflowClient().get_model_version(MODEL_NAME, "2")
    auc = float(version_2.tags["gate.challenger_roc_auc"])
    assert f"{auc:.4f}" in page  # the same number the gate recorded on the version
