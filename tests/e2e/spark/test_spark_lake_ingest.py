"""generate reads a book bigger than memory as Spark does: a Parquet data set partitioned by
month, of which it keeps a stratified sample (every default up to half the sample, a uniform
share of the rest), recorded in the lineage; train brings the model's PDs back to the book's
default rate and judges it on the book's mix."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import DATA_SUMMARY_ARTIFACT, DATE_COL, LOANS_ARTIFACT, TARGET_COL
from pd_lib.data.sources import load_loans
from pd_lib.mlflow_layer.scoring_model import pyfunc_output
from steps.generate import generate
from steps.train import train
from tests.champion import sqlite_tracking
from tests.helpers import invoke

BOOK_LOANS, BOOK_RATE, SAMPLE = 40_000, 0.05, 8_000


def _lake(folder: Path, loans: pd.DataFrame) -> Path:
    loans.assign(month=loans[DATE_COL].dt.strftime("%Y-%m")).to_parquet(
        folder, index=False, partition_cols=["month"])
    return folder


def _newest(entry_point: str):
    return mlflow.search_runs(search_all_experiments=True, output_format="list",
                              filter_string=f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
                              order_by=["attributes.start_time DESC"])[0]


@pytest.mark.heavy
def test_a_partitioned_book_is_sampled_recorded_and_calibrated_back_to_the_book(spark,
                                                                                tmp_path):
    book = load_loans("synthetic", BOOK_LOANS, 10, BOOK_RATE, 5)
    lake = _lake(tmp_path / "book", book)
    with sqlite_tracking(tmp_path):
        runner = CliRunner()
        result = invoke(runner, generate, ["--source", lake, "--engine", "spark",
                                           "--n-samples", SAMPLE, "--seed", 3])
        assert result.exit_code == 0, result.output
        generated = _newest("generate")
        metrics = generated.data.metrics
        defaults = int(book[TARGET_COL].sum())
        assert metrics["book_loans"] == BOOK_LOANS and metrics["book_defaults"] == defaults
        assert metrics["sample_default_share"] == 1.0  # fewer defaults than half the sample
        assert metrics["sample_other_share"] == pytest.approx(
            (SAMPLE - defaults) / (BOOK_LOANS - defaults))
        assert abs(metrics["rows"] - SAMPLE) < 4 * np.sqrt(SAMPLE)  # Bernoulli sampling
        assert metrics["default_rate"] > 3 * BOOK_RATE  # the defaults were over-sampled
        summary = mlflow.artifacts.load_dict(
            f"runs:/{generated.info.run_id}/{DATA_SUMMARY_ARTIFACT}")
        assert summary["sampling"]["seed"] == 3
        loans_uri = f"runs:/{generated.info.run_id}/{LOANS_ARTIFACT}"
        sample = pd.read_parquet(mlflow.artifacts.download_artifacts(loans_uri))
        assert "month" not in sample.columns  # the partition column is not a characteristic

        result = invoke(runner, train, ["--data-uri", loans_uri,
                                        "--model", "logistic_regression"])
        assert result.exit_code == 0, result.output
        trained = _newest("train")
        factor = trained.data.metrics["book_odds_factor"]
        assert factor == pytest.approx(1 / metrics["sample_other_share"])
        model = mlflow.pyfunc.load_model(f"runs:/{trained.info.run_id}/model")
        pds = pyfunc_output(model, book)["pd"].to_numpy()
        # calibrated to the whole book, not to the sample's default rate
        assert abs(pds.mean() - book[TARGET_COL].mean()) < 0.01, pds.mean()
        report = Path(mlflow.artifacts.download_artifacts(
            f"runs:/{trained.info.run_id}/report/validation_report.html")).read_text()
        assert "stratified sample of a book of 40,000 loans" in report
        judged = trained.data.metrics
        assert judged["observed_default_rate"] < 2 * BOOK_RATE  # the holdout: the book's mix
        assert judged["train_observed_default_rate"] < 2 * BOOK_RATE
        assert abs(judged["mean_pd"] - judged["observed_default_rate"]) < 0.02


def test_a_data_set_without_the_default_flag_is_refused_naming_it(spark, tmp_path):
    book = load_loans("synthetic", 2_000, 10, BOOK_RATE, 5).drop(columns=[TARGET_COL])
    lake = _lake(tmp_path / "unlabelled", book)
    with sqlite_tracking(tmp_path):
        result = invoke(CliRunner(), generate, ["--source", lake, "--engine", "spark",
                                                "--n-samples", 1_000])
        assert result.exit_code == 2, result.output
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert str(lake) in line and f"no column '{TARGET_COL}'" in line
        assert "Traceback" not in result.output
        runs = MlflowClient().search_runs(
            [e.experiment_id for e in MlflowClient().search_experiments()])
        assert [r.info.status for r in runs] == ["FAILED"]  # as for a bad file: no loans
        assert MlflowClient().list_artifacts(runs[0].info.run_id) == []
