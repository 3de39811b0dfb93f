"""The score step: the champion's PDs for a loan book, checked against its signature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, ID_COL, MASTER_SCALE, MODEL_NAME, PD_COL, SCORED_ARTIFACT
from pd_lib.data.schema import feature_columns
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer import scoring_model
from pd_lib.mlflow_layer.scoring import batch
from steps.score import score
from tests.champion import champion_sklearn_pd, make_champion
from tests.e2e.test_steps import _only_run
from tests.helpers import invoke


@pytest.fixture
def champion(tracking_uri, runner) -> pd.DataFrame:
    """A champion version 1 and the loans it was trained on (written to loans.parquet)."""
    import mlflow

    data_uri = make_champion(runner)
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
    loans.to_parquet("loans.parquet")
    return loans


def _score_runs() -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs([experiment.experiment_id],
                                      "tags.`mlflow.project.entryPoint` = 'score'")


def test_score_logs_the_champions_pd_per_loan(champion, runner):
    result = invoke(runner, score, ["--data-uri", "loans.parquet"])
    assert result.exit_code == 0, result.output
    import mlflow

    scored = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{_only_run('score').info.run_id}/{SCORED_ARTIFACT}"))
    assert list(scored.columns) == list(scoring_model.SCORED_COLUMNS)
    assert scored[ID_COL].tolist() == champion[ID_COL].tolist()
    expected = champion_sklearn_pd(champion, feature_columns(champion))
    np.testing.assert_allclose(scored[PD_COL].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert set(scored["model_name"]) == {MODEL_NAME}
    assert set(scored["model_version"]) == {"1"}


def test_rating_is_the_master_scale_grade_of_the_pd(champion):
    scale = MASTER_SCALE
    scored = batch.score_loans(f"models:/{MODEL_NAME}@champion", champion)
    bounds = dict(scale)
    lower = dict(zip([g for g, _ in scale], [0.0] + [b for _, b in scale[:-1]], strict=True))
    for pd_value, grade in zip(scored[PD_COL], scored["rating"], strict=True):
        assert lower[grade] < pd_value <= bounds[grade] or (grade == scale[0][0]
                                                             and pd_value <= bounds[grade])


def test_score_frame_pins_the_alias_to_a_version(champion):
    scored = batch.score_loans(f"models:/{MODEL_NAME}/Production", champion.head(5))
    assert scored["model_version"].tolist() == ["1"] * 5


def test_missing_column_is_one_line_exit_2_and_nothing_logged(champion, runner):
    champion.drop(columns=["feature_3"]).to_parquet("incomplete.parquet")
    result = invoke(runner, score, ["--data-uri", "incomplete.parquet"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "feature_3" in lines[0]
    assert _score_runs() == []


def test_mistyped_column_names_the_column_and_its_type(champion, runner):
    broken = champion.assign(feature_2=champion["feature_2"].astype(str))
    broken.to_csv("texty.csv", index=False)
    broken.to_parquet("texty.parquet")
    result = invoke(runner, score, ["--data-uri", "texty.parquet"])
    assert result.exit_code == 2
    assert "feature_2 is string, model expects numeric" in result.stderr
    assert _score_runs() == []


def test_csv_input_scores_like_parquet(champion):
    champion.to_csv("loans.csv", index=False)
    from_csv = batch.score_loans(f"models:/{MODEL_NAME}@champion",
                                   batch.read_loans("loans.csv"))
    from_parquet = batch.score_loans(f"models:/{MODEL_NAME}@champion", champion)
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_exact=False, atol=1e-12, rtol=0)


def test_no_champion_yet_is_a_clear_error(tracking_uri, small_loans):
    with pytest.raises(PipelineError, match="cannot find model 'models:/pd_model_v1@champion'"):
        batch.score_loans(f"models:/{MODEL_NAME}@champion", small_loans)


def test_unknown_engine_is_refused(champion, runner):
    result = invoke(runner, score, ["--data-uri", "loans.parquet", "--engine", "dask"])
    assert result.exit_code == 2
    assert "unknown engine 'dask'" in result.stderr


def test_check_columns_accepts_ints_for_doubles_and_ignores_extra_columns():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    signature = ModelSignature(inputs=Schema([ColSpec("double", "x"), ColSpec("string", "g")]))
    scoring_model.check_columns({"x": "numeric", "g": "string", "default": "numeric"}, signature,
                          "data")
    with pytest.raises(PipelineError, match="g is numeric, model expects string"):
        scoring_model.check_columns({"x": "numeric", "g": "numeric"}, signature, "data")


def test_mlflow_run_score_entry_point(tracking_uri, runner, tmp_path):
    import subprocess
    import sys

    import mlflow

    from tests.helpers import PROJECT_ROOT, env_without_mlflow_run

    data_uri = make_champion(runner)
    command = [sys.executable, "-m", "mlflow", "run", str(PROJECT_ROOT), "-e", "score",
               "--env-manager", "local", "--experiment-name", EXPERIMENT_NAME,
               "-P", f"data_uri={data_uri}"]
    result = subprocess.run(command, cwd=tmp_path, env=env_without_mlflow_run(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = _score_runs()
    assert run.info.status == "FINISHED"
    assert run.data.params["model_uri"] == f"models:/{MODEL_NAME}@champion"
    assert run.data.tags["pd.scored_model_version"] == "1"
    loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
    scored = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{run.info.run_id}/{SCORED_ARTIFACT}"))
    np.testing.assert_allclose(scored[PD_COL].to_numpy(),
                               champion_sklearn_pd(loans, feature_columns(loans)).to_numpy(),
                               rtol=0, atol=1e-12)

    broken = tmp_path / "broken.parquet"
    loans.drop(columns=["feature_3"]).to_parquet(broken)
    failed = subprocess.run([*command[:-1], f"data_uri={broken}"], cwd=tmp_path,
                            env=env_without_mlflow_run(), capture_output=True, text=True,
                            timeout=600)
    assert failed.returncode != 0
    assert "error: the data lacks column(s) feature_3" in failed.stderr
    failed_run = [r for r in _score_runs() if r.info.run_id != run.info.run_id]
    assert [r.info.status for r in failed_run] == ["FAILED"]
    assert MlflowClient().list_artifacts(failed_run[0].info.run_id) == []


def test_spark_on_a_cluster_needs_shared_paths_before_anything_starts():
    cluster = "spark://spark-master.internal:7077"
    with pytest.raises(PipelineError, match="data_uri the executors can read"):
        batch.score_and_log("models:/m@champion", "runs:/abc/data/loans.parquet", "spark",
                              cluster)
    with pytest.raises(PipelineError, match="needs -P output_path"):
        batch.score_and_log("models:/m@champion", "s3a://book/loans.parquet", "spark", cluster)
    with pytest.raises(PipelineError, match="output_path is for engine=spark"):
        batch.score_and_log("models:/m@champion", "loans.parquet", "pandas", "local[2]",
                              "s3a://out/")
    from pd_lib.mlflow_layer.scoring.monitoring import monitor_and_log

    with pytest.raises(PipelineError, match="data_uri the executors can read"):
        monitor_and_log("models:/m@champion", "period/", "spark", cluster)
