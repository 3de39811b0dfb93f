"""train and tune log the validation: metrics by sample, plots, tables and the report."""

from __future__ import annotations

import base64
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    DATE_COL,
    GRADE_TABLE_ARTIFACT,
    HOLDOUT_ARTIFACT,
    LOANS_ARTIFACT,
    OOT_ARTIFACT,
    REPORT_ARTIFACT,
)
from steps.generate import generate
from steps.train import train
from steps.tune import tune
from tests.e2e.test_steps import SMALL, _artifacts, _only_run
from tests.helpers import invoke

PLOTS = {f"plots/{name}.png" for name in (
    "roc_curve", "confusion_matrix", "calibration_curve", "ks_curve", "pd_distribution",
    "grade_table", "feature_importance")}


@pytest.fixture
def dated_file(tmp_path, small_loans) -> str:
    """The small loans with twelve monthly vintages, as a local Parquet file."""
    loans = small_loans.copy()
    months = pd.date_range("2022-01-01", periods=12, freq="MS")
    loans[DATE_COL] = np.repeat(months, len(loans) // 12 + 1)[: len(loans)]
    path = tmp_path / "dated.parquet"
    loans.to_parquet(path, index=False)
    return str(path)


def _check_validation_artifacts(run_id: str, oot: bool) -> dict[str, float]:
    assert PLOTS <= _artifacts(run_id, "plots")
    assert GRADE_TABLE_ARTIFACT in _artifacts(run_id, "tables")
    assert REPORT_ARTIFACT in _artifacts(run_id, "report")
    assert (OOT_ARTIFACT in _artifacts(run_id, "data")) == oot
    html = mlflow.artifacts.load_text(f"runs:/{run_id}/{REPORT_ARTIFACT}")
    assert html.count("data:image/png;base64,") == len(PLOTS)
    for plot in PLOTS:  # each plot rendered once: the report embeds the logged PNG itself
        png = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{plot}")).read_bytes()
        assert png.startswith(b"\x89PNG")
        assert f"base64,{base64.b64encode(png).decode('ascii')}" in html, plot
    grades = pd.read_csv(mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/{GRADE_TABLE_ARTIFACT}"))
    holdout = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/{HOLDOUT_ARTIFACT}"))
    assert grades["count"].sum() == len(holdout)
    metrics = MlflowClient().get_run(run_id).data.metrics
    for name in ("roc_auc", "ks", "brier_score", "hosmer_lemeshow_pvalue", "psi", "csi_max",
                 "jeffreys_pvalue_portfolio", "herfindahl_index", "train_roc_auc", "train_ks",
                 "train_holdout_roc_auc_gap"):
        assert name in metrics, name
    assert any(k.startswith("oot_") for k in metrics) == oot
    assert metrics["n_loans"] == len(holdout)
    return metrics


def test_train_logs_the_validation_on_a_random_split(tracking_uri, runner):
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    args = ["--data-uri", data_uri, "--n-estimators", 20, "--threshold", 0.3]
    assert invoke(runner, train, args).exit_code == 0
    first = _only_run("train")
    metrics = _check_validation_artifacts(first.info.run_id, oot=False)
    assert first.data.params["split"] == "random"
    # the same parameters give the same metrics
    assert invoke(runner, train, args).exit_code == 0
    second = _only_run("train")
    assert second.info.run_id != first.info.run_id
    assert second.data.metrics == pytest.approx(metrics, nan_ok=True)


def test_train_with_a_time_split_logs_out_of_time_metrics(tracking_uri, runner, dated_file):
    result = invoke(runner, train, ["--data-uri", dated_file, "--model", "logistic_regression",
                                    "--split", "time"])
    assert result.exit_code == 0, result.output
    run = _only_run("train")
    metrics = _check_validation_artifacts(run.info.run_id, oot=True)
    for name in ("oot_roc_auc", "oot_psi", "oot_csi_max", "oot_roc_auc_drop"):
        assert name in metrics, name
    oot = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{run.info.run_id}/{OOT_ARTIFACT}"))
    assert metrics["oot_n_loans"] == len(oot)
    assert metrics["oot_roc_auc_drop"] == pytest.approx(metrics["roc_auc"] - metrics["oot_roc_auc"])


def test_tune_with_a_time_split_logs_the_validation(tracking_uri, runner, dated_file):
    result = invoke(runner, tune, ["--data-uri", dated_file, "--model", "logistic_regression",
                                   "--grid", "C=0.1,1", "--cv", 2, "--split", "time"])
    assert result.exit_code == 0, result.output
    _check_validation_artifacts(_only_run("tune").info.run_id, oot=True)


def test_time_split_on_data_without_dates_is_one_clear_error(tracking_uri, runner):
    assert invoke(runner, generate, SMALL).exit_code == 0  # make_classification: no dates
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--n-estimators", 5,
                                    "--split", "time"])
    assert result.exit_code == 2
    assert "error: split=time needs an 'origination_date' column" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_split_is_refused_by_the_cli(tracking_uri, runner):
    result = runner.invoke(train, ["--split", "vintage"])
    assert result.exit_code == 2 and "'vintage' is not one of 'random', 'time'" in result.output
