"""A small champion model in a real SQLite store, made through the step CLIs, for the scoring,
serving and Spark tests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
from click.testing import CliRunner

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME
from steps.generate import generate
from steps.promote import promote
from steps.register import register
from steps.train import train
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import MLFLOW_ENV_VARS, invoke


def make_champion(runner: CliRunner, *train_args, generate_args=tuple(SMALL)) -> str:
    """generate -> train -> register -> promote to Production; returns the loans' run URI."""
    assert invoke(runner, generate, list(generate_args)).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--n-estimators", 20, *train_args])
    assert result.exit_code == 0, result.output
    assert invoke(runner, register, ["--run-id", _only_run("train").info.run_id]).exit_code == 0
    assert invoke(runner, promote, ["--stage", "Production"]).exit_code == 0
    return data_uri


@contextlib.contextmanager
def sqlite_tracking(directory: Path) -> Iterator[str]:
    """A fresh SQLite store in ``directory``, set as the tracking URI while in the block (for
    fixtures wider than one test, which cannot use the per-test ``tracking_uri``)."""
    uri = f"sqlite:///{directory / 'mlflow.db'}"
    saved = {k: os.environ.get(k) for k in (*MLFLOW_ENV_VARS, "MLFLOW_TRACKING_URI")}
    cwd = os.getcwd()
    for name in MLFLOW_ENV_VARS:
        os.environ.pop(name, None)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.chdir(directory)
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        os.chdir(cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def champion_sklearn_pd(loans: pd.DataFrame, features: list[str]) -> pd.Series:
    """The champion's PDs computed the raw scikit-learn way (predict_proba, column 1), not
    through pyfunc: an independent reference for the scoring paths."""
    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    return pd.Series(model.predict_proba(loans[features])[:, 1], name="pd")
