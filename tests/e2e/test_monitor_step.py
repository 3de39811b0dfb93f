"""The monitor step on a real SQLite store, in-process: a champion trained on the synthetic
book, a downturn period and the same period without outcomes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    EXPERIMENT_NAME,
    LOANS_ARTIFACT,
    MODEL_NAME,
    MONITOR_RED_EXIT_CODE,
    MONITOR_REPORT_ARTIFACT,
    TAG_MONITOR_PERIOD,
    TAG_MONITOR_RUN,
    TAG_MONITOR_STATUS,
)
from steps.generate import generate
from steps.monitor import monitor
from steps.promote import promote
from tests.champion import make_champion
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke

BOOK = ["--n-samples", 4000, "--seed", 3]


def _report(run_id: str) -> str:
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=MONITOR_REPORT_ARTIFACT)
    return Path(path).read_text()


def _report_paths(run_id: str) -> list[str]:
    return [f.path for f in MlflowClient().list_artifacts(run_id, "report")]


def _newest_run(entry_point_tag: str) -> mlflow.entities.Run:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs([experiment.experiment_id],
                                      f"tags.`mlflow.project.entryPoint` = '{entry_point_tag}'",
                                      order_by=["attributes.start_time DESC"])[0]


def test_monitor_judges_a_downturn_red_tags_the_version_and_fails_on_red(
        tracking_uri, runner, tmp_path):
    make_champion(runner, "--model", "hist_gradient_boosting", generate_args=BOOK)
    assert invoke(runner, generate, [*BOOK, "--scenario", "downturn"]).exit_code == 0
    period_uri = f"runs:/{_newest_run('generate').info.run_id}/{LOANS_ARTIFACT}"

    result = invoke(runner, monitor, ["--data-uri", period_uri])
    assert result.exit_code == 0, result.output
    assert "status RED" in result.output and "Calibration in the large" in result.output
    run = _newest_run("monitor")
    version = MlflowClient().get_model_version(MODEL_NAME, "1")
    assert version.tags[TAG_MONITOR_STATUS] == "red" == run.data.tags[TAG_MONITOR_STATUS]
    assert version.tags[TAG_MONITOR_RUN] == run.info.run_id
    assert period_uri in version.tags[TAG_MONITOR_PERIOD]
    assert run.data.metrics["mean_pd"] < run.data.metrics["observed_default_rate"]
    report = _report(run.info.run_id)
    assert "PDs too low" in report and "2025-01 to 2025-12" in report

    failing = invoke(runner, monitor, ["--data-uri", period_uri, "--fail-on", "red"])
    assert failing.exit_code == MONITOR_RED_EXIT_CODE
    assert "status RED" in failing.output

    # Through mlflow run the 3 becomes MLflow's own 1 and the run FAILED, everything logged.
    command = [sys.executable, "-m", "mlflow", "run", str(PROJECT_ROOT), "-e", "monitor",
               "--env-manager", "local", "--experiment-name", EXPERIMENT_NAME,
               "-P", f"data_uri={period_uri}", "-P", "fail_on=red"]
    through = subprocess.run(command, env=env_without_mlflow_run(), capture_output=True,
                             text=True, timeout=600)
    assert through.returncode == 1, through.stderr[-3000:]
    assert "status red with fail_on=red: exit 3" in through.stderr
    failed = _newest_run("monitor")
    assert failed.info.status == "FAILED" and failed.data.tags[TAG_MONITOR_STATUS] == "red"
    assert "report/monitoring_report.html" in _report_paths(failed.info.run_id)

    promoted = invoke(runner, promote, ["--stage", "Production", "--version", "1"])
    assert promoted.exit_code == 0, promoted.output
    assert "last monitoring red" in promoted.output


def test_a_period_without_outcomes_gets_a_stability_only_report(tracking_uri, runner, tmp_path):
    make_champion(runner, "--model", "hist_gradient_boosting", generate_args=BOOK)
    assert invoke(runner, generate, [*BOOK, "--scenario", "shift"]).exit_code == 0
    loans = mlflow.artifacts.download_artifacts(
        f"runs:/{_newest_run('generate').info.run_id}/{LOANS_ARTIFACT}")
    unlabelled = tmp_path / "period.parquet"
    pd.read_parquet(loans).drop(columns=["default"]).to_parquet(unlabelled)

    result = invoke(runner, monitor, ["--data-uri", str(unlabelled)])
    assert result.exit_code == 0, result.output
    assert "stability only" in result.output
    assert "shifted characteristics: debt_to_income" in result.output
    run = _newest_run("monitor")
    assert "roc_auc" not in run.data.metrics and "csi_max" in run.data.metrics
    report = _report(run.info.run_id)
    assert "none: stability only (no default column)" in report  # on the cover
    assert "Not judged: stability only." in report

    # Bad input: one error line, exit 2, no new monitor run.
    missing = tmp_path / "missing_feature.parquet"
    pd.read_parquet(unlabelled).drop(columns=["debt_to_income"]).to_parquet(missing)
    for args, message in ((["--data-uri", ""], "no data_uri given"),
                          (["--data-uri", str(missing)], "debt_to_income")):
        refused = runner.invoke(monitor, args)
        assert refused.exit_code == 2, refused.output
        errors = [line for line in refused.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], refused.output
    assert _newest_run("monitor").info.run_id == run.info.run_id
