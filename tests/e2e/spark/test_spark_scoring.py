"""Spark scoring on the executors of a real local[2] Spark: the same PDs,
grades, model name and version as pandas, on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import ID_COL, MASTER_SCALE, MODEL_NAME, PD_COL, SCORED_ARTIFACT
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer import scoring_model
from pd_lib.mlflow_layer.scoring import batch
from pd_lib.mlflow_layer.scoring.spark import grade_column, score_parquet_spark, score_spark
from pd_lib.modelling.reasons import reason_columns
from steps.score import score
from tests.helpers import invoke

CHAMPION = f"models:/{MODEL_NAME}@champion"


def test_spark_pds_equal_pandas_pds(spark, champion_store, tmp_path):
    path, loans = champion_store
    rows = score_parquet_spark(CHAMPION, str(path), str(tmp_path / "scored"), spark)
    assert rows == len(loans)
    on_spark = pd.read_parquet(tmp_path / "scored").sort_values(ID_COL, ignore_index=True)
    on_pandas = batch.score_loans(CHAMPION, loans).sort_values(ID_COL, ignore_index=True)
    assert list(on_spark.columns) == list(scoring_model.SCORED_COLUMNS)
    np.testing.assert_array_equal(on_spark[ID_COL].to_numpy(), on_pandas[ID_COL].to_numpy())
    np.testing.assert_allclose(on_spark[PD_COL].to_numpy(), on_pandas[PD_COL].to_numpy(),
                               rtol=0, atol=1e-12)
    assert on_spark["rating"].tolist() == on_pandas["rating"].tolist()
    assert set(on_spark["model_name"]) == {MODEL_NAME}
    assert set(on_spark["model_version"]) == {"1"}


def test_spark_grades_follow_the_master_scale(spark):
    scale = MASTER_SCALE
    from pyspark.sql import functions as F

    bounds = [b for _, b in scale]
    probes = sorted({0.0, 1.0, *bounds, *[b + 1e-9 for b in bounds[:-1]],
                     *[b - 1e-9 for b in bounds], 0.1 + 0.2, 0.35 - 0.05,
                     *[float(np.nextafter(b, 2.0)) for b in bounds[:-1]]})
    frame = spark.createDataFrame([(p,) for p in probes], ["pd"])
    graded = frame.select("pd", grade_column(F.col("pd")).alias("g")).toPandas()
    assert graded["g"].tolist() == batch.rating_grades(graded["pd"].to_numpy()).tolist()
    by_pd = dict(zip(graded["pd"], graded["g"], strict=True))
    assert by_pd[0.1 + 0.2] == by_pd[0.35 - 0.05] == by_pd[0.3] == "8"  # the rounding rule


def _score_runs() -> list:
    experiments = [e.experiment_id for e in MlflowClient().search_experiments()]
    return MlflowClient().search_runs(experiments, "tags.`mlflow.project.entryPoint` = 'score'")


def test_score_step_with_spark_logs_scored_parquet(spark, champion_store):
    path, loans = champion_store
    before = {r.info.run_id for r in _score_runs()}
    result = invoke(CliRunner(), score, ["--data-uri", str(path), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    import mlflow

    (run,) = [r for r in _score_runs() if r.info.run_id not in before]
    logged = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{run.info.run_id}/{SCORED_ARTIFACT}"))
    assert len(logged) == len(loans)
    assert run.data.metrics["rows_scored"] == len(loans)
    assert run.data.params["engine"] == "spark"
    expected = batch.score_loans(CHAMPION, loans).set_index(ID_COL)[PD_COL]
    np.testing.assert_allclose(logged.set_index(ID_COL)[PD_COL].loc[expected.index], expected,
                               rtol=0, atol=1e-12)


def test_spark_refuses_a_missing_column_before_anything_is_logged(spark, champion_store,
                                                                 tmp_path):
    _, loans = champion_store
    broken = tmp_path / "broken.parquet"
    loans.drop(columns=["feature_1"]).to_parquet(broken, index=False)
    with pytest.raises(PipelineError, match="lacks column.*feature_1"):
        score_spark(CHAMPION, spark.read.parquet(str(broken)), spark)
    before = len(_score_runs())
    result = invoke(CliRunner(), score, ["--data-uri", str(broken), "--engine", "spark"])
    assert result.exit_code == 2
    assert result.stderr.count("error:") == 1 and "feature_1" in result.stderr
    assert len(_score_runs()) == before  # no run started, nothing logged


def test_output_path_gets_the_scores_instead_of_an_artifact(spark, champion_store, tmp_path):
    path, loans = champion_store
    before = {r.info.run_id for r in _score_runs()}
    out = tmp_path / "lake" / "scored"
    result = invoke(CliRunner(), score, ["--data-uri", str(path), "--engine", "spark",
                                         "--output-path", str(out)])
    assert result.exit_code == 0, result.output
    (run,) = [r for r in _score_runs() if r.info.run_id not in before]
    assert run.data.params["output_path"] == str(out)
    assert MlflowClient().list_artifacts(run.info.run_id, "data") == []
    written = pd.read_parquet(out)
    assert sorted(written[ID_COL]) == sorted(loans[ID_COL])
    assert run.data.metrics["mean_pd"] == pytest.approx(written[PD_COL].mean(), abs=1e-12)


def test_spark_reasons_equal_pandas_reasons(spark, champion_store):
    path, loans = champion_store
    frame = spark.read.parquet(str(path)).limit(200)
    on_spark = score_spark(CHAMPION, frame, spark, reasons=3).toPandas()
    on_pandas = batch.score_loans(CHAMPION, loans, reasons=3).set_index(ID_COL)
    on_pandas = on_pandas.loc[on_spark[ID_COL]].reset_index()
    np.testing.assert_allclose(on_spark[PD_COL], on_pandas[PD_COL], rtol=0, atol=1e-12)
    for column in reason_columns(3):
        assert on_spark[column].fillna("").tolist() == on_pandas[column].fillna("").tolist()


def _lake(loans: pd.DataFrame, folder) -> list[str]:
    """``loans`` as a Parquet data set partitioned by month, as a lake holds a book."""
    months = [f"2024-0{1 + i % 3}" for i in range(len(loans))]
    loans.assign(month=months).to_parquet(folder, index=False, partition_cols=["month"])
    return sorted(set(months))


def test_a_partitioned_book_is_scored_into_the_same_partitions(spark, champion_store,
                                                                tmp_path):
    _, loans = champion_store
    lake, out = tmp_path / "book", tmp_path / "scored"
    months = _lake(loans, lake)
    before = {r.info.run_id for r in _score_runs()}
    result = invoke(CliRunner(), score, ["--data-uri", str(lake), "--engine", "spark",
                                         "--output-path", str(out), "--reasons", "2"])
    assert result.exit_code == 0, result.output
    (run,) = [r for r in _score_runs() if r.info.run_id not in before]
    assert run.data.tags["pd.partitioned_by"] == "month"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"month={m}" for m in months]
    written = pd.read_parquet(out).sort_values(ID_COL, ignore_index=True)
    expected = batch.score_loans(CHAMPION, loans, reasons=2).sort_values(ID_COL,
                                                                         ignore_index=True)
    np.testing.assert_array_equal(written[ID_COL], expected[ID_COL])
    np.testing.assert_allclose(written[PD_COL], expected[PD_COL], rtol=0, atol=1e-12)
    for column in reason_columns(2):
        assert written[column].fillna("").tolist() == expected[column].fillna("").tolist()
    by_id = dict(zip(loans[ID_COL], [f"2024-0{1 + i % 3}" for i in range(len(loans))],
                     strict=True))
    assert written["month"].astype(str).tolist() == [by_id[i] for i in written[ID_COL]]


def test_a_partitioned_book_missing_a_column_is_refused_naming_it(spark, champion_store,
                                                                  tmp_path):
    _, loans = champion_store
    lake = tmp_path / "broken_book"
    _lake(loans.drop(columns=["feature_2"]), lake)
    before = len(_score_runs())
    result = invoke(CliRunner(), score, ["--data-uri", str(lake), "--engine", "spark"])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert str(lake) in line and "feature_2" in line and "lacks column" in line
    assert len(_score_runs()) == before


def test_the_project_code_is_shipped_to_the_executors(spark):
    """On a cluster the executors' Python workers have requirements.txt but not this project:
    the session adds pd_lib as a zip to their path; here a task on an executor finds it."""
    from pd_lib.spark_session import PROJECT_ARCHIVE

    def found(_):
        import zipfile
        import zipimport

        from pyspark import SparkFiles

        archive = SparkFiles.get(PROJECT_ARCHIVE)
        package = zipimport.zipimporter(archive).find_spec("pd_lib")
        names = zipfile.ZipFile(archive).namelist()
        yield package is not None and "pd_lib/mlflow_layer/scoring/spark.py" in names

    assert spark.sparkContext.parallelize([0], 1).mapPartitions(found).collect() == [True]


def test_a_file_spark_cannot_read_is_refused_in_one_line(spark, champion_store, tmp_path):
    broken = tmp_path / "not_parquet.parquet"
    broken.write_text("loan_id,feature_0\n1,0.5\n")
    before = len(_score_runs())
    result = invoke(CliRunner(), score, ["--data-uri", str(broken), "--engine", "spark"])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert f"data_uri '{broken}' cannot be read as Parquet" in line
    assert "Traceback" not in result.output and len(_score_runs()) == before
