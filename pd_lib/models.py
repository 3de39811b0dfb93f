"""Estimator factory: a model name and its parameters give a full PDModel pipeline."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from pd_lib.config import DEFAULT_MODEL  # noqa: F401  (re-exported)
from pd_lib.errors import PipelineError
from pd_lib.features import TreeEncoder, build_preprocessor
from pd_lib.pd_model import PDModel

MODEL_KINDS = ("hist_gradient_boosting", "random_forest", "logistic_regression")
# min_samples_leaf=0 (the MLproject default) means each kind's own default: scikit-learn's
# 1 for RandomForest (the tutorial's trees), 20 for HistGradientBoosting.
DEFAULT_MIN_SAMPLES_LEAF = {"random_forest": 1, "hist_gradient_boosting": 20}


def _random_forest(params: dict[str, Any], seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=int(params.get("n_estimators", 100)),
        max_depth=_optional_int(params.get("max_depth")),
        min_samples_leaf=_leaf(params, "random_forest"),
        n_jobs=-1,
        random_state=seed,
    )


def _hist_gradient_boosting(params: dict[str, Any], seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=int(params.get("n_estimators", 100)),
        max_depth=_optional_int(params.get("max_depth")),
        min_samples_leaf=_leaf(params, "hist_gradient_boosting"),
        learning_rate=float(params.get("learning_rate", 0.1)),
        random_state=seed,
    )


def _logistic_regression(params: dict[str, Any], seed: int) -> LogisticRegression:
    return LogisticRegression(C=float(params.get("C", 1.0)), max_iter=1000, random_state=seed)


_FACTORIES = {
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hist_gradient_boosting,
    "logistic_regression": _logistic_regression,
}


def _leaf(params: dict[str, Any], model: str) -> int:
    """min_samples_leaf, where missing or 0 means the model kind's default."""
    value = int(params.get("min_samples_leaf") or 0)
    return value if value > 0 else DEFAULT_MIN_SAMPLES_LEAF[model]


def _optional_int(value: Any) -> int | None:
    """``None``, 0, "" or "None" mean no limit; anything else is an int."""
    if value in (None, "", "None", "none", 0, "0"):
        return None
    return int(value)


def check_model_params(model: str, params: dict[str, Any]) -> None:
    """Refuse unknown model kinds and sizes that cannot be fitted."""
    if model not in _FACTORIES:
        raise PipelineError(f"unknown model '{model}'; choose one of {', '.join(MODEL_KINDS)}.")
    if "n_estimators" in params and int(params["n_estimators"]) <= 0:
        raise PipelineError(f"n_estimators must be a positive integer; got "
                            f"{params['n_estimators']}.")
    if params.get("min_samples_leaf") is not None and int(params["min_samples_leaf"]) < 0:
        raise PipelineError(f"min_samples_leaf must be >= 0 (0 = the model's default); got "
                            f"{params['min_samples_leaf']}.")
    if params.get("max_depth") not in (None, "", "None", "none") and int(params["max_depth"]) < 0:
        raise PipelineError(f"max_depth must be >= 0 (0 = no limit); got {params['max_depth']}.")


def build_model(model: str, params: dict[str, Any], X: pd.DataFrame, seed: int = 42) -> PDModel:
    """An unfitted PDModel: preprocessing for ``X``'s columns, then the named classifier."""
    check_model_params(model, params)
    linear = model == "logistic_regression"
    # Trees take ordinal codes from TreeEncoder (the same numbers as the ColumnTransformer,
    # ~20x cheaper per call, which is what a served one-row prediction waits for).
    preprocess = build_preprocessor(X, scale=True, one_hot=True) if linear else TreeEncoder()
    pipeline = Pipeline([("preprocess", preprocess),
                         ("classifier", _FACTORIES[model](params, seed))])
    return PDModel(pipeline)
