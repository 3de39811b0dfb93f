"""Split, fit and log a PD model: the work shared by the train and tune steps."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from pd_lib.checks import check_leaf_size, check_split, check_test_size
from pd_lib.config import (
    DATE_COL,
    GRADE_TABLE_ARTIFACT,
    HOLDOUT_ARTIFACT,
    IMPORTANCE_ARTIFACT,
    IV_RANKING_ARTIFACT,
    LIGHTS_ARTIFACT,
    LOANS_ARTIFACT,
    MODEL_ARTIFACT,
    NOT_REGISTERED,
    OOT_ARTIFACT,
    PD_LIB_DIR,
    PLOTS_DIR,
    POINTS_TABLE_ARTIFACT,
    PROJECT_ROOT,
    REPORT_ARTIFACT,
    SELECTION_ARTIFACT,
    TAG_CODE_FINGERPRINT,
    TAG_DATA_SHA256,
    TAG_GIT_COMMIT,
    TAG_NOT_DEFINED,
    TARGET_COL,
)
from pd_lib.data.schema import check_training_frame, feature_columns, sha256_of_file
from pd_lib.data.sources import load_loans
from pd_lib.data.splits import Samples, split_data
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer import pd_flavor
from pd_lib.mlflow_layer.artifacts import local_copy, log_dataframe, log_pngs, run_uri
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT
from pd_lib.mlflow_layer.scoring_model import numbers_accepted_as_any
from pd_lib.modelling.blend import BLEND, Blend
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.fitting import fit, progress
from pd_lib.modelling.kinds import AUTO, KINDS
from pd_lib.modelling.monotone import linear_coefficients, monotone_violations, parse_monotone
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.scorecard import Scorecard
from pd_lib.modelling.selection import choose_kind, fit_chosen
from pd_lib.modelling.skops_trust import trusted_types
from pd_lib.validation.evaluation import Evaluation, evaluate
from pd_lib.validation.figures import evaluation_figures
from pd_lib.validation.lights import lights_csv
from pd_lib.validation.model_section import model_html
from pd_lib.validation.plots import woe_figure
from pd_lib.validation.report import build_report
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


def run_context(params: dict[str, Any]) -> dict[str, str]:
    """What the report's header says about the run: id, entry point, data and parameters."""
    run = mlflow.active_run()
    context = {"Run": run.info.run_id if run else "(no active run)"}
    if run:
        data = MlflowClient().get_run(run.info.run_id).data
        context["Entry point"] = data.tags.get(MLFLOW_PROJECT_ENTRY_POINT, "")
        context["Data"] = data.params.get("resolved_data_uri", "")
    context.update({k: str(v) for k, v in params.items()})
    return context


@dataclass
class FittedModel:
    """A fitted PDModel and what the report says about how it was chosen and calibrated."""

    model: PDModel
    kind: str
    selection: pd.DataFrame | None = None
    monotone_violations: dict[str, float] = field(default_factory=dict)
    scorecard_section: str = ""

    def report_html(self) -> str:
        """The report's model section (and a scorecard's)."""
        return model_html(self.model.calibration_report_, self.selection,
                          self.monotone_violations) + self.scorecard_section


def fit_model(model: str, params: dict[str, Any], train: pd.DataFrame, seed: int
              ) -> FittedModel:
    """Fit the named kind, or with model=auto the kind :func:`choose_kind` picks, and log
    the choice (one nested child run per kind, tables/model_selection.csv), the calibration
    stage (param calibration_method, metrics calibration_*) and contradicted monotone
    constraints (tag pd.monotone_violations)."""
    if model == AUTO or "min_samples_leaf" in KINDS[model].tunable:
        check_leaf_size(params.get("min_samples_leaf"), len(train))
    if model != AUTO:
        fitted = fit(build_model(model, params, train, seed=seed), train)
        return log_fitted(fitted, model, str(params.get("monotone") or ""))
    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    with progress(f"model=auto: cross-validating the kinds on {len(y):,} rows"):
        selection = choose_kind(X, y, params, seed)
    log_selection(selection.table)
    started = time.perf_counter()
    with progress(f"fitting {selection.winner} on {len(y):,} rows"):
        fitted = fit_chosen(selection, X, y, params, seed)
    log.info("fitted %s on %d rows in %.1f s", selection.winner, len(y),
             time.perf_counter() - started)
    return log_fitted(fitted, selection.winner, str(params.get("monotone") or ""),
                      selection.table)


def log_fitted(model: PDModel, kind: str, monotone: str = "",
               selection: pd.DataFrame | None = None) -> FittedModel:
    """Log how a fitted model was calibrated (param calibration_method, metrics
    calibration_*: slope, ECE and log loss of its out-of-fold PDs before and after) and, for
    a linear kind, the monotone constraints its coefficients contradict."""
    mlflow.log_params({"selected_model": kind, "calibration_method": model.calibration_method_})
    mlflow.log_metrics({f"calibration_{k}": float(v)
                        for k, v in model.calibration_report_.items()
                        if isinstance(v, int | float) and k != "rows"})
    violations = {}
    if kind in KINDS and KINDS[kind].linear and monotone:
        violations = monotone_violations(linear_coefficients(model), parse_monotone(monotone))
        mlflow.set_tag("pd.monotone_violations",
                       ", ".join(f"{k}={v:.4g}" for k, v in violations.items()) or "none")
    if isinstance(model.estimator_, Blend):
        mlflow.set_tag("pd.blend_members", ", ".join(model.estimator_.kinds))
    section = log_scorecard(model.estimator_) if isinstance(model.estimator_, Scorecard) else ""
    return FittedModel(model, kind, selection, violations, section)


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


def cover_facts(samples: Samples, model: str) -> dict[str, str]:
    """The report cover's facts: model, date, code, data (where, hash, loans, default rate,
    period). The registered name and version are filled in by register (its copy)."""
    run = mlflow.active_run()
    data = MlflowClient().get_run(run.info.run_id).data if run else None
    tags, params = (data.tags, data.params) if data else ({}, {})
    sizes = [("train", samples.train), ("holdout", samples.holdout)]
    if samples.oot is not None:
        sizes.append(("out-of-time", samples.oot))
    return {
        "Model": model,
        "Registered as": NOT_REGISTERED,
        "Date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Code": f"git commit {tags.get(TAG_GIT_COMMIT) or 'unknown'}, code fingerprint "
                f"{tags.get(TAG_CODE_FINGERPRINT, '')[:12] or 'unknown'}",
        "Data": params.get("resolved_data_uri", "") or "unknown",
        "Data SHA-256": tags.get(TAG_DATA_SHA256, "") or "unknown",
        "Loans": ", ".join(f"{len(frame):,} {name}" for name, frame in sizes),
        "Default rate": ", ".join(f"{frame[TARGET_COL].mean():.2%} {name}"
                                  for name, frame in sizes),
        "Period": origination_period([frame for _, frame in sizes]),
    }


def origination_period(frames: list[pd.DataFrame]) -> str:
    """First to last origination date over the samples, or that the data has none (each
    sample's own minimum and maximum: no copy of the book)."""
    dated = [pd.to_datetime(frame[DATE_COL]).dropna() for frame in frames
             if DATE_COL in frame.columns]
    dated = [dates for dates in dated if len(dates)]
    if not dated:
        return "no origination dates in the data"
    return (f"{min(d.min() for d in dated):%Y-%m-%d} to "
            f"{max(d.max() for d in dated):%Y-%m-%d}")


def log_evaluation(evaluation: Evaluation, figures: Mapping[str, Figure], context: dict[str, str],
                   model_section: str = "", cover: dict[str, str] | None = None) -> None:
    """Log metrics in one batch, the validation report, tables, ``figures`` (the evaluation's,
    drawn by :func:`pd_lib.validation.figures.evaluation_figures`) and scored samples."""
    mlflow.log_metrics(evaluation.metrics)
    if evaluation.not_defined:  # logged as NaN; the tag says why
        mlflow.set_tag(TAG_NOT_DEFINED, "; ".join(
            f"{k}: {v}" for k, v in evaluation.not_defined.items())[:5000])
    pngs = render_figures(figures)
    report = build_report(context, evaluation.metrics, evaluation.lights,
                          evaluation.grade_table, pngs, model_html=model_section,
                          not_defined=evaluation.not_defined, cover=cover)
    mlflow.log_text(report, REPORT_ARTIFACT)
    mlflow.log_text(evaluation.grade_table.to_csv(index=False), GRADE_TABLE_ARTIFACT)
    mlflow.log_text(evaluation.importance.to_csv(index=False), IMPORTANCE_ARTIFACT)
    mlflow.log_text(lights_csv(evaluation.lights), LIGHTS_ARTIFACT)
    log_pngs(pngs, PLOTS_DIR)
    log_dataframe(evaluation.holdout_scored, HOLDOUT_ARTIFACT)
    if evaluation.oot_scored is not None:
        log_dataframe(evaluation.oot_scored, OOT_ARTIFACT)


def evaluate_and_log(
    model: PDModel, samples: Samples, threshold: float, seed: int,
    params: dict[str, Any] | None = None, model_section: str = "",
) -> Evaluation:
    """Evaluate the fitted model, draw its figures, then log its evaluation, its report and
    the model itself."""
    evaluation = evaluate(model, samples.train, samples.holdout, threshold, samples.oot, seed)
    log.info("holdout ROC AUC %.4f, log loss %.4f, accuracy %.4f; lights: %s",
             evaluation.metrics["roc_auc"], evaluation.metrics["log_loss"],
             evaluation.metrics["accuracy"],
             ", ".join(f"{li.metric} {li.colour}" for li in evaluation.lights))
    log_evaluation(evaluation, evaluation_figures(evaluation, threshold),
                   run_context(params or {}), model_section,
                   cover_facts(samples, str((params or {}).get("model", type(model).__name__))))
    log_model(model, samples.train)
    log.info("logged model, metrics, plots, tables, report and scored holdout")
    return evaluation


def resolve_data_uri(data_uri: str, experiment_id: str) -> tuple[str, str]:
    """The loans to train on, and how they were chosen.

    An empty ``data_uri`` means: the newest finished ``generate`` run with default parameters
    in this experiment, else data generated here with those defaults and logged in this run.
    """
    from pd_lib.mlflow_layer.runner.runs import describe, find_finished_run, full_params

    if data_uri:
        return data_uri, "given"
    found = find_finished_run(experiment_id, "generate", full_params("generate", {}))
    if found is not None:
        return (run_uri(found.info.run_id, LOANS_ARTIFACT),
                f"generate run {found.info.run_id}: {describe(found)}")
    defaults = full_params("generate", {})
    frame = load_loans(
        source=defaults["source"], n_samples=int(float(defaults["n_samples"])),
        n_features=int(float(defaults["n_features"])),
        default_rate=float(defaults["default_rate"]), seed=int(float(defaults["seed"])),
    )
    log_dataframe(frame, LOANS_ARTIFACT)
    run_id = mlflow.active_run().info.run_id
    return run_uri(run_id, LOANS_ARTIFACT), "generated here with generate's defaults"


def load_training_data(data_uri: str) -> pd.DataFrame:
    """Download the loans by URI, tag the run with their SHA-256, and check them."""
    with local_copy(data_uri, "data_uri") as path:
        mlflow.set_tag(TAG_DATA_SHA256, sha256_of_file(path))
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet file ({exc}); "
                                "pass the data/loans.parquet of a generate run.") from None
    check_training_frame(frame, f"data_uri '{data_uri}'")
    return frame


def prepare_data(data_uri: str, test_size: float, seed: int, split: str = "random"
                 ) -> Samples:
    """Resolve, load and split the training data, logging which data was used."""
    check_test_size(test_size)
    check_split(split)
    experiment_id = mlflow.active_run().info.experiment_id
    resolved, how = resolve_data_uri(data_uri, experiment_id)
    log.info("training data: %s (%s)", resolved, how)
    mlflow.log_params({"resolved_data_uri": resolved})
    mlflow.set_tag("pd.data_choice", how)
    samples = split_data(load_training_data(resolved), test_size, seed, split)
    log.info("split=%s: %d train, %d holdout%s rows", split, len(samples.train),
             len(samples.holdout),
             f", {len(samples.oot)} out-of-time" if samples.oot is not None else "")
    return samples
