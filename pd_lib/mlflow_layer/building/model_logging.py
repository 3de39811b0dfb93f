"""How a PD model and what was learnt choosing it are logged: the model itself (skops, signature,
input example, serving pins), a scorecard's tables and WoE plots, and model=auto's comparison
of the kinds with the rule it chose by."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from pd_lib.config import (
    IV_RANKING_ARTIFACT,
    MODEL_ARTIFACT,
    PD_LIB_DIR,
    PLOTS_DIR,
    POINTS_TABLE_ARTIFACT,
    PROJECT_ROOT,
    SELECTION_ARTIFACT,
)
from pd_lib.data.schema import feature_columns
from pd_lib.mlflow_layer import pd_flavor
from pd_lib.mlflow_layer.artifacts import log_pngs
from pd_lib.mlflow_layer.scoring_model import numbers_accepted_as_any
from pd_lib.modelling.blend import BLEND
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.scorecard import Scorecard
from pd_lib.modelling.skops_trust import trusted_types
from pd_lib.validation.plots import woe_figure
from pd_lib.validation.report_html import render_figures
from pd_lib.validation.scorecard_section import scorecard_html

log = logging.getLogger("pd_pipeline")


def model_save_kwargs(model: PDModel, sample: pd.DataFrame) -> dict:
    """How every PD model is saved (log_model and the size benchmark use exactly this).

    skops with our trusted types, signature (with the inference parameter ``reasons``; numeric
    inputs typed ``Any``, so int and float columns both score) and a 5-row input example,
    pd_lib as code, and our pins (without the fit-only ones) instead of MLflow inferring them
    by loading the model in a subprocess.
    """
    X = sample[feature_columns(sample)].head(5)
    return {
        "serialization_format": "skops",
        "skops_trusted_types": trusted_types(),
        "signature": numbers_accepted_as_any(
            infer_signature(X, model.predict(X), params={"reasons": 0})),
        "input_example": X,
        "code_paths": [str(PD_LIB_DIR)],
        "pip_requirements": serving_requirements(),
    }


# Needed to fit a scorecard, never to load or score one (it is saved as its tables).
FIT_ONLY_PACKAGES = ("optbinning", "ortools")


def serving_requirements() -> list[str]:
    """requirements.txt's pins without the fit-only packages: what a served model needs."""
    lines = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")
            and line.split("==")[0].strip().lower() not in FIT_ONLY_PACKAGES]


def log_model(model: PDModel, sample: pd.DataFrame) -> None:
    """Log ``model`` as ``model`` with signature and input example, saved with skops, and
    our pyfunc (reason codes as an inference parameter)."""
    pd_flavor.log_model(model, name=MODEL_ARTIFACT, **model_save_kwargs(model, sample))


def log_scorecard(scorecard: Scorecard) -> str:
    """A scorecard's artifacts: tables/points_table.csv, tables/iv_ranking.csv, one
    plots/woe/<characteristic>.png each, and the tag pd.scorecard_dropped (characteristic:
    why). Returns the report's scorecard section."""
    points, ranking = scorecard.points_table(), scorecard.iv_ranking()
    mlflow.log_text(points.to_csv(index=False), POINTS_TABLE_ARTIFACT)
    mlflow.log_text(ranking.to_csv(index=False), IV_RANKING_ARTIFACT)
    figures = {name: woe_figure(points[points["characteristic"] == name], name)
               for name in scorecard.characteristics_}
    log_pngs(render_figures(figures), f"{PLOTS_DIR}/woe")
    mlflow.set_tag("pd.scorecard_dropped", "; ".join(
        f"{k}: {v}" for k, v in scorecard.dropped_.items())[:5000] or "none")
    mlflow.log_metric("scorecard_characteristics", len(scorecard.characteristics_))
    return scorecard_html(ranking, points.round(4), {"pdo": scorecard.pdo,
                                                     "base_points": scorecard.base_points,
                                                     "base_odds": scorecard.base_odds})


def log_selection(selection: pd.DataFrame) -> None:
    """model=auto's comparison: a table artifact and one nested child run per kind."""
    mlflow.log_text(selection.to_csv(index=False), SELECTION_ARTIFACT)
    parent = mlflow.active_run()
    for row in selection.to_dict("records"):
        with mlflow.start_run(run_name=f"select {row['kind']}", nested=True,
                              experiment_id=parent.info.experiment_id):
            mlflow.log_params({"model": row["kind"], "calibration": row["calibration"],
                               "chosen": str(bool(row["chosen"])).lower()})
            mlflow.log_metrics({k: float(row[k]) for k in
                                ("cv_log_loss", "cv_log_loss_raw", "cv_roc_auc", "fit_seconds",
                                 "rows")})
    log.info("model=auto: %s; %s", "; ".join(
        f"{r['kind']} log loss {r['cv_log_loss']:.4f} AUC {r['cv_roc_auc']:.4f}"
        + (" (chosen)" if r["chosen"] else "") for r in selection.to_dict("records")),
        selection_rule(set(selection["kind"])))


def selection_rule(kinds: set[str]) -> str:
    """The rule model=auto chose by, in the words of README and docs/model_defaults.md."""
    if BLEND in kinds:
        return ("rule: the blend unless a single kind beats it by more than one standard "
                "error of the paired log-loss difference")
    return ("rule: the simplest kind (logistic regression, spline, scorecard, boosting, "
            "forest) within one standard error of the lowest log loss")
