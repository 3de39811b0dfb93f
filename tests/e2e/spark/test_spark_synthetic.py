"""Spark scoring of the default data, the synthetic book: string categoricals and missing
values must reach the model on the executors exactly as through pandas. (Its own module: the
champion store is module-wide.)"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, ID_COL, MODEL_NAME, PD_COL, TARGET_COL
from pd_lib.data.sources import load_loans
from pd_lib.mlflow_layer.scoring import batch
from pd_lib.mlflow_layer.scoring.spark import score_parquet_spark
from pd_lib.validation.discrimination import roc_auc
from pd_lib.validation.inputs import floor_pds
from steps.monitor import monitor
from tests.helpers import invoke

CHAMPION = f"models:/{MODEL_NAME}@champion"


def test_spark_equals_pandas_on_the_synthetic_book_with_strings_and_gaps(
        spark, synthetic_champion_store, tmp_path):
    path, loans = synthetic_champion_store
    assert loans.isna().any().any() and (loans.dtypes == "str").any()  # what this test is for
    score_parquet_spark(CHAMPION, str(path), str(tmp_path / "scored"), spark)
    on_spark = pd.read_parquet(tmp_path / "scored").sort_values(ID_COL, ignore_index=True)
    on_pandas = batch.score_loans(CHAMPION, loans).sort_values(ID_COL, ignore_index=True)
    np.testing.assert_allclose(on_spark[PD_COL].to_numpy(), on_pandas[PD_COL].to_numpy(),
                               rtol=0, atol=1e-12)


# monitor -P engine=spark (issue 16; issue 32: counted on Spark, aggregates only on the
# driver): the same verdict and every logged number as pandas (here, not in a module of its
# own: the store is module-wide).
def _monitor_runs() -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs([experiment.experiment_id],
                                      "tags.`mlflow.project.entryPoint` = 'monitor'",
                                      order_by=["attributes.start_time ASC"])


def test_monitor_with_spark_equals_pandas(spark, synthetic_champion_store, tmp_path):
    store_dir = synthetic_champion_store[0].parent
    period = store_dir / "period.parquet"
    loans = load_loans("synthetic", 3000, 10, 0.2, 11, scenario="shift")
    loans.to_parquet(period, index=False)
    runner = CliRunner()
    for engine in ("pandas", "spark"):
        result = invoke(runner, monitor, ["--data-uri", str(period), "--engine", engine])
        assert result.exit_code == 0, result.output
    pandas_run, spark_run = _monitor_runs()[-2:]
    assert spark_run.data.params["engine"] == "spark"
    assert spark_run.data.tags["pd.monitor.status"] == pandas_run.data.tags["pd.monitor.status"]
    assert spark_run.data.tags["pd.monitor.period"] == pandas_run.data.tags["pd.monitor.period"]
    on_pandas, on_spark = pandas_run.data.metrics, spark_run.data.metrics
    assert on_spark.keys() == on_pandas.keys()
    assert {"psi", "grade_psi", "csi_max", "roc_auc", "roc_auc_se", "ks", "mean_pd",
            "jeffreys_pvalue_grades_holm", "binomial_pvalue_portfolio"} <= on_spark.keys()
    for name, value in on_pandas.items():
        assert on_spark[name] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), name
    for table in ("tables/monitor_stability.csv", "tables/monitor_vintages.csv",
                  "tables/monitor_grades.csv"):
        frames = [pd.read_csv(mlflow.artifacts.download_artifacts(
            f"runs:/{run.info.run_id}/{table}")) for run in (pandas_run, spark_run)]
        pd.testing.assert_frame_equal(frames[1], frames[0], rtol=1e-9)
    # the same period as a Parquet data set (a directory partitioned by month, as a lake
    # holds a book) gives the same numbers on Spark
    lake = tmp_path / "lake"
    loans.assign(month=loans["origination_date"].dt.strftime("%Y-%m")).to_parquet(
        lake, index=False, partition_cols=["month"])
    result = invoke(runner, monitor, ["--data-uri", str(lake), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    on_lake = _monitor_runs()[-1].data.metrics
    for name, value in on_pandas.items():
        assert on_lake[name] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), name
    # the histogram AUC against the rank AUC of the same PDs, within its stated bound
    pds = floor_pds(batch.score_loans(CHAMPION, loans)[PD_COL].to_numpy())
    exact = roc_auc(loans[TARGET_COL].to_numpy(), pds)
    assert abs(on_spark["roc_auc"] - exact) <= on_spark["roc_auc_error_bound"] < 1e-4


def test_monitor_with_spark_refuses_a_period_missing_a_model_column(
        spark, synthetic_champion_store, tmp_path):
    _, loans = synthetic_champion_store
    broken = tmp_path / "broken_period.parquet"
    column = "annual_income"
    loans.drop(columns=[column]).to_parquet(broken, index=False)
    before = len(_monitor_runs())
    result = invoke(CliRunner(), monitor, ["--data-uri", str(broken), "--engine", "spark"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("error:") == 1, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert str(broken) in line and column in line and "lacks column" in line
    assert len(_monitor_runs()) == before  # refused before a run was started
