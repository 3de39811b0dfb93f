"""The generate step through click on a real temporary MLflow store: what it logs, how it fails."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    DATA_SUMMARY_ARTIFACT,
    EXPERIMENT_NAME,
    LOANS_ARTIFACT,
    MODEL_ARTIFACT,
    TAG_DATA_SHA256,
    TARGET_COL,
    TRUE_PD_COL,
)
from pd_lib.data.schema import integer_features_as_float, sha256_of_file, write_parquet
from pd_lib.data.synthetic import synthetic_loan_book
from steps.generate import generate
from steps.train import train
from tests.helpers import PROJECT_ROOT, invoke
from tests.ingest_cases import BAD_INPUTS, make_bad_file, params_for

GERMAN_CREDIT = PROJECT_ROOT / "data" / "german_credit.csv"


def _only_run() -> mlflow.entities.Run:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    runs = MlflowClient().search_runs([experiment.experiment_id])
    assert len(runs) == 1
    return runs[0]


def _all_artifacts(run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in MlflowClient().list_artifacts(run_id, path):
        found += _all_artifacts(run_id, item.path) if item.is_dir else [item.path]
    return found


def _options(params: dict[str, str]) -> list[str]:
    return [arg for k, v in params.items() for arg in (f"--{k.replace('_', '-')}", v)]


def _summary(run_id: str) -> dict:
    return json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/{DATA_SUMMARY_ARTIFACT}"))


def test_synthetic_is_the_default_and_logs_loans_and_summary(tracking_uri, runner, tmp_path):
    result = invoke(runner, generate, ["--n-samples", 3000, "--default-rate", 0.1,
                                       "--seed", 5])
    assert result.exit_code == 0, result.output
    run = _only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["source"] == "synthetic"
    assert sorted(_all_artifacts(run.info.run_id)) == sorted([LOANS_ARTIFACT,
                                                              DATA_SUMMARY_ARTIFACT])

    logged = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/{LOANS_ARTIFACT}"))
    expected = tmp_path / "expected.parquet"
    write_parquet(integer_features_as_float(synthetic_loan_book(3000, 0.1, 5)), expected)
    assert logged.read_bytes() == expected.read_bytes()  # same params, same bytes

    digest = sha256_of_file(logged)
    summary = _summary(run.info.run_id)
    assert summary["sha256"] == digest == run.data.tags[TAG_DATA_SHA256]
    frame = pd.read_parquet(logged)
    assert summary["rows"] == run.data.metrics["rows"] == 3000
    assert summary["default_rate"] == pytest.approx(frame[TARGET_COL].mean())
    assert run.data.metrics["default_rate"] == pytest.approx(frame[TARGET_COL].mean())
    assert summary["columns"]["purpose"] == str(frame["purpose"].dtype)
    assert summary["missing"]["annual_income"] == int(frame["annual_income"].isna().sum()) > 0


def test_german_credit_is_logged_in_the_canonical_schema(tracking_uri, runner):
    result = invoke(runner, generate, ["--source", GERMAN_CREDIT, "--target", "creditability",
                                       "--label-map", "bad=1,good=0"])
    assert result.exit_code == 0, result.output
    run = _only_run()
    summary = _summary(run.info.run_id)
    assert summary["rows"] == 1000
    assert summary["default_rate"] == pytest.approx(0.3)
    assert "creditability" not in summary["columns"]
    assert summary["columns"][TARGET_COL] == "int64"


def _assert_refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.output
    run = _only_run()
    assert run.info.status == "FAILED"
    assert _all_artifacts(run.info.run_id) == []


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_file_fails_the_run_with_one_line_and_no_artifacts(case, tracking_uri, runner,
                                                               tmp_path):
    path = make_bad_file(case, tmp_path)
    result = invoke(runner, generate, ["--source", path, *_options(params_for(case))])
    _assert_refused(result, case.message)


@pytest.mark.parametrize("args,message", [
    (["--n-samples", 0], "n_samples must be at least 20"),
    (["--n-samples", 5], "n_samples must be at least 20"),
    (["--default-rate", 0], "default_rate must be strictly between 0 and 1; got 0.0"),
    (["--default-rate", 1.5], "default_rate must be strictly between 0 and 1; got 1.5"),
])
def test_bad_generate_parameters_fail_the_run(args, message, tracking_uri, runner):
    _assert_refused(invoke(runner, generate, ["--source", "synthetic", *args]), message)


def test_trained_model_never_sees_true_pd(tracking_uri, runner):
    """The model trained on a synthetic book takes every feature but true_pd (and the ids)."""
    assert invoke(runner, generate, ["--n-samples", 600, "--seed", 1]).exit_code == 0
    data_uri = f"runs:/{_only_run().info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--n-estimators", 5])
    assert result.exit_code == 0, result.output
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    train_run, = MlflowClient().search_runs(
        [experiment.experiment_id], "tags.`mlflow.project.entryPoint` = 'train'")
    info = mlflow.models.get_model_info(f"runs:/{train_run.info.run_id}/{MODEL_ARTIFACT}")
    inputs = info.signature.inputs.input_names()
    assert TRUE_PD_COL not in inputs
    assert {"annual_income", "purpose", "interest_rate"} <= set(inputs)
    assert {"loan_id", "origination_date", TARGET_COL}.isdisjoint(inputs)
