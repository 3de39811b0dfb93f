"""The model kinds: one table row per kind, and the factory that builds a PDModel from it.

Adding a kind means one row in ``KINDS`` and its factory function (docs/architecture.md shows
an example): its name becomes valid for ``-P model=...``, its tunable parameters for
``-P grid=...``, and its skops types are trusted when its models are saved and loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from pd_lib.errors import PipelineError
from pd_lib.modelling.features import TreeEncoder, build_preprocessor
from pd_lib.modelling.pd_model import PDModel


@dataclass(frozen=True)
class ModelKind:
    """What the pipeline knows about one model kind."""

    name: str
    factory: Callable[[Mapping[str, Any], int], BaseEstimator]
    # Our parameter name (train's options, the grid syntax) -> the estimator's.
    tunable: Mapping[str, str]
    # Types skops must trust to load a fitted model of this kind, beyond COMMON_TRUSTED_TYPES.
    trusted_types: tuple[str, ...]
    # Scaled, one-hot encoded inputs (linear models) instead of TreeEncoder's codes (trees).
    linear: bool = False
    # min_samples_leaf when the user passes 0 (the MLproject default).
    default_min_samples_leaf: int = 0


def _optional_int(value: Any) -> int | None:
    """``None``, 0, "" or "None" mean no limit; anything else is an int."""
    if value in (None, "", "None", "none", 0, "0"):
        return None
    return int(value)


def _leaf(params: Mapping[str, Any], kind: str) -> int:
    """min_samples_leaf, where missing or 0 means the model kind's default."""
    value = int(params.get("min_samples_leaf") or 0)
    return value if value > 0 else KINDS[kind].default_min_samples_leaf


def _random_forest(params: Mapping[str, Any], seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=int(params.get("n_estimators", 100)),
        max_depth=_optional_int(params.get("max_depth")),
        min_samples_leaf=_leaf(params, "random_forest"),
        n_jobs=-1,
        random_state=seed,
    )


def _hist_gradient_boosting(params: Mapping[str, Any], seed: int
                            ) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=int(params.get("n_estimators", 100)),
        max_depth=_optional_int(params.get("max_depth")),
        min_samples_leaf=_leaf(params, "hist_gradient_boosting"),
        learning_rate=float(params.get("learning_rate", 0.1)),
        random_state=seed,
    )


def _logistic_regression(params: Mapping[str, Any], seed: int) -> LogisticRegression:
    return LogisticRegression(C=float(params.get("C", 1.0)), max_iter=1000, random_state=seed)


# Types every saved PDModel holds, whatever its kind. The two pd_lib names before them are
# where models logged before pd_lib had layers say these classes live (pd_lib/pd_model.py
# and pd_lib/features.py lead there), so old registered versions keep loading.
LEGACY_TRUSTED_TYPES = ("pd_lib.pd_model.PDModel", "pd_lib.features.TreeEncoder")
COMMON_TRUSTED_TYPES = (
    "pd_lib.modelling.pd_model.PDModel",
    "pd_lib.modelling.features.TreeEncoder",
    "sklearn.compose._column_transformer._RemainderColsList",
    "numpy.dtype",
    "builtins.slice",
)

KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (
    ModelKind(
        name="hist_gradient_boosting",
        factory=_hist_gradient_boosting,
        tunable={"n_estimators": "max_iter", "max_depth": "max_depth",
                 "min_samples_leaf": "min_samples_leaf", "learning_rate": "learning_rate"},
        trusted_types=(
            "sklearn._loss.link.LogitLink",
            "sklearn._loss.link.Interval",
            "sklearn._loss.loss.HalfBinomialLoss",
            "sklearn._loss._loss.CyHalfBinomialLoss",
            "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
            "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        ),
        default_min_samples_leaf=20,  # scikit-learn's own
    ),
    ModelKind(
        name="random_forest",  # the tutorial's
        factory=_random_forest,
        tunable={"n_estimators": "n_estimators", "max_depth": "max_depth",
                 "min_samples_leaf": "min_samples_leaf"},
        trusted_types=("sklearn.tree._tree.Tree",),
        default_min_samples_leaf=1,  # scikit-learn's, the tutorial's trees
    ),
    ModelKind(
        name="logistic_regression",
        factory=_logistic_regression,
        tunable={"C": "C"},
        trusted_types=(),
        linear=True,
    ),
)}
MODEL_KINDS = tuple(KINDS)


def trusted_types() -> list[str]:
    """Every type skops may load besides its own defaults: the common ones and each kind's.

    Every model we save is checked against this list at save time, so a new type fails
    loudly there.
    """
    kind_types = [t for kind in KINDS.values() for t in kind.trusted_types]
    return list(dict.fromkeys([*COMMON_TRUSTED_TYPES, *kind_types]))


def check_model_params(model: str, params: Mapping[str, Any]) -> None:
    """Refuse unknown model kinds and sizes that cannot be fitted."""
    if model not in KINDS:
        raise PipelineError(f"unknown model '{model}'; choose one of {', '.join(KINDS)}.")
    if "n_estimators" in params and int(params["n_estimators"]) <= 0:
        raise PipelineError(f"n_estimators must be a positive integer; got "
                            f"{params['n_estimators']}.")
    if params.get("min_samples_leaf") is not None and int(params["min_samples_leaf"]) < 0:
        raise PipelineError(f"min_samples_leaf must be >= 0 (0 = the model's default); got "
                            f"{params['min_samples_leaf']}.")
    if params.get("max_depth") not in (None, "", "None", "none") and int(params["max_depth"]) < 0:
        raise PipelineError(f"max_depth must be >= 0 (0 = no limit); got {params['max_depth']}.")


def build_model(model: str, params: Mapping[str, Any], X: pd.DataFrame, seed: int = 42
                ) -> PDModel:
    """An unfitted PDModel: preprocessing for ``X``'s columns, then the named classifier."""
    check_model_params(model, params)
    kind = KINDS[model]
    # Trees take ordinal codes from TreeEncoder (the same numbers as the ColumnTransformer,
    # ~20x cheaper per call, which is what a served one-row prediction waits for).
    preprocess = build_preprocessor(X, scale=True, one_hot=True) if kind.linear else TreeEncoder()
    return PDModel(Pipeline([("preprocess", preprocess),
                             ("classifier", kind.factory(params, seed))]))
