"""A model trained from a user's CSV scores, monitors and serves that CSV and next month's in
the same format: integer columns included (ingest trained them as float64; the signature
types numeric inputs ``Any`` and the model converts them). A truly incompatible column is
refused naming the column and the types."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from click.testing import CliRunner

from pd_lib.config import PD_COL
from pd_lib.mlflow_layer.scoring import batch
from steps.generate import generate
from steps.monitor import monitor
from steps.promote import promote
from steps.register import register
from steps.score import score
from steps.train import train
from tests.champion import sqlite_tracking
from tests.helpers import PROJECT_ROOT, invoke
from tests.servers import served_model

MODEL = "pd_csv"


def loan_csv(path: Path, n: int, seed: int) -> Path:
    """A month of loans as a lender's export: whole numbers as integers, a text category."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 70, n)
    months = rng.integers(6, 72, n)
    amount = rng.integers(500, 20_000, n)
    utilisation = rng.uniform(0, 1, n).round(3)
    purpose = rng.choice(["car", "home", "cash"], n)
    logit = -2.2 - 0.03 * (age - 40) + 0.02 * (months - 30) + 1.5 * utilisation + (
        purpose == "cash") * 0.6
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    pd.DataFrame({"loan_id": np.arange(1, n + 1) + seed * 100_000, "age": age,
                  "months": months, "amount": amount, "utilisation": utilisation,
                  "purpose": purpose, "default": default}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def champion(tmp_path_factory) -> Iterator[tuple[CliRunner, Path, str]]:
    """A champion trained from a CSV with integer columns, in a store of its own."""
    workdir = tmp_path_factory.mktemp("user_csv")
    with sqlite_tracking(workdir) as uri:
        runner = CliRunner()
        trained_on = loan_csv(workdir / "loans_2026_01.csv", 4000, seed=1)
        assert pd.read_csv(trained_on)["age"].dtype == np.int64
        result = invoke(runner, generate, ["--source", trained_on])
        assert result.exit_code == 0, result.output
        run = mlflow.search_runs(search_all_experiments=True, output_format="list")[0]
        result = invoke(runner, train, ["--data-uri", f"runs:/{run.info.run_id}/data/loans.parquet",
                                        "--model", "hist_gradient_boosting",
                                        "--n-estimators", 30])
        assert result.exit_code == 0, result.output
        train_run = next(r for r in mlflow.search_runs(search_all_experiments=True,
                                                       output_format="list")
                         if r.data.tags.get("mlflow.project.entryPoint") == "train")
        for command, args in ((register, ["--run-id", train_run.info.run_id,
                                          "--model-name", MODEL]),
                              (promote, ["--model-name", MODEL, "--stage", "Production"])):
            result = invoke(runner, command, args)
            assert result.exit_code == 0, result.output
        yield runner, workdir, uri


def test_the_training_csv_and_next_months_score(champion):
    runner, workdir, _ = champion
    for path in (workdir / "loans_2026_01.csv", loan_csv(workdir / "loans_2026_02.csv", 1500, 2)):
        result = invoke(runner, score, ["--model-uri", f"models:/{MODEL}@champion",
                                        "--data-uri", path])
        assert result.exit_code == 0, result.output
        rows = len(pd.read_csv(path))
        assert f"scored {rows} loans with {MODEL}" in result.output


def test_next_months_csv_is_monitored(champion):
    runner, workdir, _ = champion
    path = loan_csv(workdir / "loans_2026_03.csv", 1500, 3)
    result = invoke(runner, monitor, ["--model-uri", f"models:/{MODEL}@champion",
                                      "--data-uri", path])
    assert result.exit_code == 0, result.output
    assert "status" in result.output.lower()


def test_pyfunc_predicts_the_csv_as_read_and_equals_the_score_step(champion):
    """``mlflow.pyfunc.load_model(...).predict(pd.read_csv(...))``, int64 columns as read:
    MLflow refused it ("Can not safely convert int64 to float64") while the signature said
    double; the same PDs as scoring the file, and text in a numeric column named."""
    runner, workdir, _ = champion
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    as_read = pd.read_csv(workdir / "loans_2026_01.csv").head(200)
    assert as_read["amount"].dtype == np.int64
    served = model.predict(as_read.drop(columns=["loan_id", "default"]))[PD_COL].to_numpy()
    as_floats = as_read.astype({c: "float64" for c in ("age", "months", "amount")})
    trained_form = model.predict(as_floats.drop(columns=["loan_id", "default"]))[PD_COL]
    np.testing.assert_array_equal(served, trained_form.to_numpy())
    scored = batch.score_loans(f"models:/{MODEL}@champion", as_read)
    np.testing.assert_allclose(served, scored[PD_COL].to_numpy(), rtol=0, atol=1e-12)
    with pytest.raises(mlflow.exceptions.MlflowException, match="column age holds"):
        model.predict(as_read.assign(age="thirty").drop(columns=["loan_id", "default"]))


def test_scoring_past_mlflows_value_by_value_check_gives_what_predict_gives(champion):
    """score, monitor and the gate call our flavor's implementation after their own column
    checks (pyfunc_output), not pyfunc's predict, whose check walks every value of an
    ``Any`` input: the same PDs and reasons, to the bit, on the CSV as read (int64 columns,
    a text category, a missing value, columns the model does not take)."""
    from pd_lib.mlflow_layer.scoring_model import pyfunc_output
    from pd_lib.modelling.reasons import reason_columns

    _, workdir, _ = champion
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    as_read = pd.read_csv(workdir / "loans_2026_01.csv").head(300)
    as_read.loc[3, "utilisation"] = np.nan
    for reasons in (0, 3):
        fast = pyfunc_output(model, as_read, reasons)
        slow = model.predict(as_read.drop(columns=["loan_id", "default"]),
                             params={"reasons": reasons} if reasons else None)
        np.testing.assert_array_equal(fast[PD_COL].to_numpy(), slow[PD_COL].to_numpy())
        for column in reason_columns(reasons):
            assert fast[column].fillna("").tolist() == slow[column].fillna("").tolist()
    from pd_lib.errors import PipelineError

    with pytest.raises(PipelineError, match="lacks column.*months"):
        pyfunc_output(model, as_read.drop(columns=["months"]))
    with pytest.raises(PipelineError, match="age is string, model expects numeric"):
        pyfunc_output(model, as_read.assign(age="thirty"))


def test_a_truly_incompatible_column_is_refused_naming_it(champion):
    runner, workdir, _ = champion
    path = workdir / "loans_text_age.csv"
    frame = pd.read_csv(workdir / "loans_2026_01.csv").head(50)
    frame["age"] = "thirty"
    frame.to_csv(path, index=False)
    result = invoke(runner, score, ["--model-uri", f"models:/{MODEL}@champion",
                                    "--data-uri", path])
    assert result.exit_code == 2
    assert "age is string, model expects numeric" in result.output
    assert "Traceback" not in result.output


def test_served_model_takes_its_input_example_and_integer_records(champion):
    _, workdir, uri = champion
    model_dir = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}@champion"))
    example = json.loads((model_dir / "serving_input_example.json").read_text())
    with served_model(f"models:/{MODEL}@champion", workdir, uri) as url:
        pasted = requests.post(f"{url}/invocations", json=example, timeout=60)
        assert pasted.status_code == 200, pasted.text
        rows = pd.read_csv(workdir / "loans_2026_01.csv").head(3)
        records = rows.drop(columns=["loan_id", "default"]).to_dict(orient="records")
        assert isinstance(records[0]["age"], int)  # as a lender's JSON would send them
        response = requests.post(f"{url}/invocations", json={"dataframe_records": records},
                                 timeout=60)
        assert response.status_code == 200, response.text
        served = [p[PD_COL] for p in response.json()["predictions"]]
        assert len(served) == 3 and all(0 < p < 1 for p in served)


def test_german_credit_scores_its_own_csv(tmp_path):
    with sqlite_tracking(tmp_path):
        runner = CliRunner()
        german = PROJECT_ROOT / "data" / "german_credit.csv"
        result = invoke(runner, generate, ["--source", german, "--target", "creditability",
                                           "--label-map", "bad=1,good=0"])
        assert result.exit_code == 0, result.output
        run = mlflow.search_runs(search_all_experiments=True, output_format="list")[0]
        result = invoke(runner, train, ["--data-uri", f"runs:/{run.info.run_id}/data/loans.parquet",
                                        "--model", "logistic_regression"])
        assert result.exit_code == 0, result.output
        train_run = next(r for r in mlflow.search_runs(search_all_experiments=True,
                                                       output_format="list")
                         if r.data.tags.get("mlflow.project.entryPoint") == "train")
        for command, args in ((register, ["--run-id", train_run.info.run_id,
                                          "--model-name", "pd_german"]),
                              (promote, ["--model-name", "pd_german", "--stage", "Production",
                                         "--force", "true", "--reason", "test of scoring"])):
            result = invoke(runner, command, args)
            assert result.exit_code == 0, result.output
        result = invoke(runner, score, ["--model-uri", "models:/pd_german@champion",
                                        "--data-uri", german])
        assert result.exit_code == 0, result.output
        assert "scored 1000 loans with pd_german" in result.output
