"""Building an unfitted, calibrating PDModel of a kind: the feature layout of the training
columns (with monotone constraints), the kind's estimator from its resolved parameters, the
preprocessing it needs and the calibration stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from pd_lib.errors import PipelineError
from pd_lib.modelling.features import TreeEncoder, build_preprocessor, split_feature_kinds
from pd_lib.modelling.kind_params import check_model_params, resolve_params
from pd_lib.modelling.kinds import AUTO, KINDS, MAX_NATIVE_CATEGORIES, Layout, effective_calibration
from pd_lib.modelling.monotone import monotonic_cst, parse_monotone
from pd_lib.modelling.pd_model import PDModel


def layout(X: pd.DataFrame, monotone: str = "") -> Layout:
    """The feature layout of ``X`` for a tree model, with parsed monotone constraints."""
    numeric, categorical = split_feature_kinds(X)
    native = [X[c].nunique(dropna=False) <= MAX_NATIVE_CATEGORIES for c in categorical]
    return Layout(numeric, categorical, np.array([False] * len(numeric) + native, dtype=bool),
                  monotonic_cst(parse_monotone(monotone), numeric, categorical))


def build_model(model: str, params: Mapping[str, Any], X: pd.DataFrame, seed: int = 42
                ) -> PDModel:
    """An unfitted PDModel for ``X``'s columns: preprocessing, the kind's classifier with its
    defaults for len(X) rows and the user's ``params`` over them, and a calibration stage
    (``params["calibration"]``: auto, none, sigmoid or isotonic; auto by default)."""
    check_model_params(model, params)
    if model == AUTO:
        raise PipelineError("model=auto picks a kind first (pd_lib.modelling.selection); "
                            "build_model needs the kind itself.")
    kind = KINDS[model]
    features = layout(X, str(params.get("monotone") or ""))
    if not kind.monotone:
        features = Layout(features.numeric, features.categorical, features.native_categorical,
                          None)  # linear kinds: reported after the fit, not enforced
    estimator = kind.factory(resolve_params(model, params, len(X)), seed, features)
    steps = [("classifier", estimator)]
    if not kind.binned:
        preprocess = (build_preprocessor(X, scale=True, one_hot=True, splines=kind.splines)
                      if kind.linear or kind.splines else TreeEncoder())
        steps.insert(0, ("preprocess", preprocess))
    return PDModel(Pipeline(steps),
                   calibration=effective_calibration(model, str(params.get("calibration") or "")),
                   random_state=seed)
