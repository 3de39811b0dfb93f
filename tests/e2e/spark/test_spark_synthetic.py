"""Spark scoring of the default data, the synthetic book: string categoricals and missing
values must reach the model through spark_udf exactly as through pandas. (Its own module: the
champion store is module-wide.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, ID_COL, MODEL_NAME, PD_COL
from pd_lib.data.sources import load_loans
from pd_lib.mlflow_layer import scoring
from pd_lib.mlflow_layer.spark import score_parquet_spark
from steps.monitor import monitor
from tests.helpers import invoke

CHAMPION = f"models:/{MODEL_NAME}@champion"


def test_spark_equals_pandas_on_the_synthetic_book_with_strings_and_gaps(
        spark, synthetic_champion_store, tmp_path):
    path, loans = synthetic_champion_store
    assert loans.isna().any().any() and (loans.dtypes == "str").any()  # what this test is for
    score_parquet_spark(CHAMPION, str(path), str(tmp_path / "scored"), spark)
    on_spark = pd.read_parquet(tmp_path / "scored").sort_values(ID_COL, ignore_index=True)
    on_pandas = scoring.score_loans(CHAMPION, loans).sort_values(ID_COL, ignore_index=True)
    np.testing.assert_allclose(on_spark[PD_COL].to_numpy(), on_pandas[PD_COL].to_numpy(),
                               rtol=0, atol=1e-12)


# monitor -P engine=spark (issue 16): the period scored through the Spark path gives the same
# verdict and statistics as pandas (here, not in a module of its own: the store is module-wide).
def test_monitor_with_spark_equals_pandas(spark, synthetic_champion_store, tmp_path):
    store_dir = synthetic_champion_store[0].parent
    period = store_dir / "period.parquet"
    load_loans("synthetic", 3000, 10, 0.2, 11, scenario="shift").to_parquet(period, index=False)
    runner = CliRunner()
    for engine in ("pandas", "spark"):
        result = invoke(runner, monitor, ["--data-uri", str(period), "--engine", engine])
        assert result.exit_code == 0, result.output
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    runs = MlflowClient().search_runs([experiment.experiment_id],
                                      "tags.`mlflow.project.entryPoint` = 'monitor'",
                                      order_by=["attributes.start_time ASC"])
    pandas_run, spark_run = runs[-2], runs[-1]
    assert spark_run.data.params["engine"] == "spark"
    assert spark_run.data.tags["pd.monitor.status"] == pandas_run.data.tags["pd.monitor.status"]
    for name in ("psi", "grade_psi", "csi_max", "roc_auc", "mean_pd",
                 "jeffreys_pvalue_grades_holm"):
        assert spark_run.data.metrics[name] == pytest.approx(pandas_run.data.metrics[name],
                                                             rel=1e-9), name
