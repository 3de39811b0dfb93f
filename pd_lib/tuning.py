"""Hyper-parameter search: the grid syntax, the search, and one child run per candidate.

Grid syntax (the ``grid`` parameter): ``name=v1,v2;name=v1,v2``, e.g.
``n_estimators=50,100;max_depth=4,8``. Names are the train step's parameter names
(n_estimators, max_depth, min_samples_leaf, learning_rate, C); values are numbers, or
``None`` for "no limit".
"""

from __future__ import annotations

import logging
import time
from typing import Any

import mlflow
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from pd_lib.config import TARGET_COL
from pd_lib.data import feature_columns
from pd_lib.errors import PipelineError
from pd_lib.models import build_model, check_model_params

log = logging.getLogger("pd_pipeline")

GRID_SYNTAX = "name=v1,v2;name=v1,v2 (e.g. n_estimators=50,100;max_depth=4,8)"
SEARCH_METHODS = ("grid",)
TUNABLE = {
    "random_forest": {"n_estimators": "n_estimators", "max_depth": "max_depth",
                      "min_samples_leaf": "min_samples_leaf"},
    "hist_gradient_boosting": {"n_estimators": "max_iter", "max_depth": "max_depth",
                               "min_samples_leaf": "min_samples_leaf",
                               "learning_rate": "learning_rate"},
    "logistic_regression": {"C": "C"},
}


def _parse_value(text: str, name: str) -> Any:
    text = text.strip()
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise PipelineError(f"grid: value '{text}' of '{name}' is not a number or None; "
                        f"write the grid as {GRID_SYNTAX}.")


def parse_grid(grid: str, model: str) -> dict[str, list[Any]]:
    """Parse the grid parameter into {name: [values]}, refusing malformed or unknown names."""
    if model not in TUNABLE:
        check_model_params(model, {})
    parsed: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in grid.split(";"))):
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise PipelineError(f"grid: '{part}' is malformed; write the grid as {GRID_SYNTAX}.")
        if name not in TUNABLE[model]:
            raise PipelineError(f"grid: '{name}' is not tunable for {model}; "
                                f"use {', '.join(TUNABLE[model])}.")
        parsed[name] = [_parse_value(v, name) for v in values.split(",")]
        for value in parsed[name]:
            check_model_params(model, {name: value})
    if not parsed:
        raise PipelineError(f"grid is empty; write it as {GRID_SYNTAX}.")
    return parsed


def _sklearn_grid(grid: dict[str, list[Any]], model: str) -> dict[str, list[Any]]:
    """Our parameter names -> the PDModel's nested scikit-learn names."""
    return {f"pipeline__classifier__{TUNABLE[model][k]}": v for k, v in grid.items()}


def _our_names(sklearn_params: dict[str, Any], model: str) -> dict[str, Any]:
    back = {f"pipeline__classifier__{v}": k for k, v in TUNABLE[model].items()}
    return {back[k]: v for k, v in sklearn_params.items()}


def run_search(
    model: str, grid: dict[str, list[Any]], train: pd.DataFrame, cv: int, search: str, seed: int
) -> GridSearchCV:
    """Cross-validated search over ``grid`` on ``train``, scored by ROC AUC, refit on all."""
    if search not in SEARCH_METHODS:
        raise PipelineError(f"unknown search '{search}'; choose {', '.join(SEARCH_METHODS)}.")
    if cv < 2:
        raise PipelineError(f"cv must be at least 2 folds; got {cv}.")
    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    estimator = build_model(model, {}, X, seed=seed)
    searcher = GridSearchCV(
        estimator,
        _sklearn_grid(grid, model),
        scoring="roc_auc",
        cv=StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed),
        refit=True,
        n_jobs=1,
    )
    started = time.perf_counter()
    searcher.fit(X, y)
    log.info("searched %d candidates x %d folds in %.1f s; best CV ROC AUC %.4f",
             len(searcher.cv_results_["params"]), cv, time.perf_counter() - started,
             searcher.best_score_)
    return searcher


def log_candidates(searcher: GridSearchCV, model: str) -> None:
    """One nested child run per candidate: its parameters, mean and std CV ROC AUC, rank."""
    results = searcher.cv_results_
    for i, params in enumerate(results["params"]):
        ours = _our_names(params, model)
        name = ",".join(f"{k}={v}" for k, v in ours.items())
        with mlflow.start_run(run_name=f"candidate {name}", nested=True):
            mlflow.log_params({"model": model, **ours})
            mlflow.log_metrics({
                "cv_roc_auc": float(results["mean_test_score"][i]),
                "cv_roc_auc_std": float(results["std_test_score"][i]),
                "rank": float(results["rank_test_score"][i]),
                "fit_seconds": float(results["mean_fit_time"][i]),
            })


def best_params(searcher: GridSearchCV, model: str) -> dict[str, Any]:
    """The best candidate's parameters under our names."""
    return _our_names(searcher.best_params_, model)
