"""The scorecard on German credit, in-process on a real SQLite store: trained, registered,
promoted and scored with points and reason codes; the pyfunc gives the same reasons; the
saved model loads in a process that never imports optbinning."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, PD_COL, SCORED_ARTIFACT
from pd_lib.modelling.reasons import SCORE_COL, reason_columns
from steps.generate import generate
from steps.promote import promote
from steps.register import register
from steps.score import score
from steps.train import train
from steps.tune import tune
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke

GERMAN = PROJECT_ROOT / "data" / "german_credit.csv"
MODEL = "pd_german_scorecard"


def _run_id(output: str) -> str:
    return output.split(" run ")[1].split(":")[0].split()[0]


def test_scorecard_trains_registers_promotes_and_scores_with_reasons(tracking_uri, runner,
                                                                      tmp_path):
    result = invoke(runner, generate, ["--source", GERMAN, "--target", "creditability",
                                       "--label-map", "bad=1,good=0"])
    assert result.exit_code == 0, result.output
    generated = MlflowClient().search_runs(
        [e.experiment_id for e in MlflowClient().search_experiments()])[0].info.run_id
    loans = f"runs:/{generated}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", loans, "--model", "scorecard",
                                    "--monotone", "duration_in_month=+1"])
    assert result.exit_code == 0, result.output
    trained = _run_id(result.output)
    client = MlflowClient()
    run = client.get_run(trained)
    assert run.data.params["selected_model"] == "scorecard"

    points = pd.read_csv(mlflow.artifacts.download_artifacts(
        f"runs:/{trained}/tables/points_table.csv"))
    ranking = pd.read_csv(mlflow.artifacts.download_artifacts(
        f"runs:/{trained}/tables/iv_ranking.csv"))
    kept = ranking[ranking["in_scorecard"]]
    assert (kept["coefficient"] < 0).all(), "every coefficient agrees with its WoE"
    assert set(points["characteristic"]) == set(kept["characteristic"])
    # the trend set by the user: points fall as the duration grows (missing bin aside)
    duration = points[(points["characteristic"] == "duration_in_month")
                      & (points["bin"] != "Missing")]
    assert np.all(np.diff(duration["points"].to_numpy()) <= 1e-9)
    artifacts = {a.path for a in client.list_artifacts(trained, "plots/woe")}
    assert {f"plots/woe/{c}.png" for c in kept["characteristic"]} == artifacts
    report = Path(mlflow.artifacts.download_artifacts(
        f"runs:/{trained}/report/validation_report.html")).read_text()
    assert 'id="scorecard"' in report

    # no pickle in the logged model
    model_dir = Path(mlflow.artifacts.download_artifacts(f"runs:/{trained}/model"))
    files = [p.name for p in model_dir.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    requirements = (model_dir / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "optbinning" not in requirements
    assert "ortools" not in requirements
    with zipfile.ZipFile(model_dir / "model.skops") as saved:
        schema = json.loads(saved.read("schema.json"))
    assert '"__module__": "pd_lib.modelling.scorecard"' in json.dumps(schema)

    assert invoke(runner, register, ["--run-id", trained, "--model-name", MODEL]).exit_code == 0
    result = invoke(runner, promote, ["--model-name", MODEL, "--stage", "Production"])
    assert result.exit_code == 0, result.output

    book = mlflow.artifacts.download_artifacts(loans)
    result = invoke(runner, score, ["--model-uri", f"models:/{MODEL}@champion",
                                    "--data-uri", book, "--reasons", 4])
    assert result.exit_code == 0, result.output
    scored_run = result.output.strip().split("; run ")[-1].split()[0]
    scored = pd.read_parquet(mlflow.artifacts.download_artifacts(
        f"runs:/{scored_run}/{SCORED_ARTIFACT}"))
    assert {SCORE_COL, *reason_columns(4)} <= set(scored.columns)

    frame = pd.read_parquet(book).drop(columns=["default", "loan_id"])
    served = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    direct = served.predict(frame, params={"reasons": 4})
    np.testing.assert_allclose(direct[PD_COL], scored[PD_COL])
    np.testing.assert_allclose(direct[SCORE_COL], scored[SCORE_COL])
    for column in reason_columns(4):
        assert direct[column].fillna("").tolist() == scored[column].fillna("").tolist()
    # without reasons a scorecard still gives its points beside its PDs (issue 27)
    plain = served.predict(frame.head(3))
    assert list(plain.columns) == [PD_COL, SCORE_COL]
    np.testing.assert_allclose(plain[SCORE_COL], scored[SCORE_COL].head(3))

    # serving needs neither optbinning nor ortools: a fresh process that refuses to import
    # them loads the model and gives the same points
    code = ("import sys, mlflow, pandas as pd\n"
            "class Refuse:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('optbinning', 'ortools'):\n"
            "            raise ImportError('refused: ' + name)\n"
            "sys.meta_path.insert(0, Refuse())\n"
            f"m = mlflow.pyfunc.load_model({str(model_dir)!r})\n"
            f"out = m.predict(pd.read_parquet({book!r}).drop(columns=['default', 'loan_id']),"
            " params={'reasons': 4})\n"
            "assert not [k for k in sys.modules if k.startswith(('optbinning', 'ortools'))]\n"
            "print(out['score'].sum())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env_without_mlflow_run(), cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(float(done.stdout.strip().splitlines()[-1]) - direct[SCORE_COL].sum()) < 1e-6


def test_tune_searches_a_scorecard(tracking_uri, runner):
    result = invoke(runner, generate, ["--source", GERMAN, "--target", "creditability",
                                       "--label-map", "bad=1,good=0"])
    assert result.exit_code == 0, result.output
    generated = MlflowClient().search_runs(
        [e.experiment_id for e in MlflowClient().search_experiments()])[0].info.run_id
    result = invoke(runner, tune, ["--data-uri", f"runs:/{generated}/{LOANS_ARTIFACT}",
                                   "--model", "scorecard", "--search", "grid",
                                   "--grid", "C=0.1,1;min_samples_leaf=40,120", "--cv", 3])
    assert result.exit_code == 0, result.output
    tuned = _run_id(result.output)
    run = MlflowClient().get_run(tuned)
    assert run.data.params["best_min_samples_leaf"] in ("40", "120")
    assert run.data.params["best_C"] in ("0.1", "1.0", "1")
    children = MlflowClient().search_runs([run.info.experiment_id],
                                          f"tags.`mlflow.parentRunId` = '{tuned}'")
    assert len(children) == 4
    assert "pd.scorecard_dropped" in run.data.tags
