"""Fitting the PD model of a train or tune run: the named kind, or model=auto's choice, and
what the run logs about the fit (calibration stage, monotone violations, blend members, a
scorecard's tables)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd

from pd_lib.checks import check_leaf_size
from pd_lib.config import TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.mlflow_layer.building.model_logging import log_scorecard, log_selection
from pd_lib.modelling.blend import Blend
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.fitting import fit, progress
from pd_lib.modelling.kinds import AUTO, KINDS
from pd_lib.modelling.monotone import linear_coefficients, monotone_violations, parse_monotone
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.scorecard import Scorecard
from pd_lib.modelling.selection import choose_kind, fit_chosen
from pd_lib.validation.model_section import model_html

log = logging.getLogger("pd_pipeline")


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
