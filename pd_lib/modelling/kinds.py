"""The model kinds: one table row per kind (``KINDS``), their size-aware defaults and the
estimator each kind's factory makes. A calibrating PDModel is built from a row by
:func:`pd_lib.modelling.factory.build_model`; the user's parameters are checked and laid over
the defaults in :mod:`pd_lib.modelling.kind_params`.

Adding a kind means one row in ``KINDS`` and its two functions, defaults and factory
(docs/architecture.md shows an example): its name becomes valid for ``-P model=...``, its
tunable parameters for ``-P grid=...``, and its skops types are trusted when its models are
saved and loaded (:func:`pd_lib.modelling.skops_trust.trusted_types`).

Why these defaults (chosen by measurement on synthetic books of 3k-1M loans, German credit,
the tutorial's make_classification shape and a weak 4-feature book; docs/model_defaults.md):

- hist_gradient_boosting: early stopping on the log loss at every size (a validation slice of
  the training sample, never the holdout), shallow trees (depth 3 below 5,000 rows, else at
  most 15 leaves of depth 5), leaves that grow with the sample (~sqrt(n), 20..1,000 rows), an
  L2 penalty that grows with the leaf size, and string columns as native categories.
  scikit-learn's own defaults (31 leaves of >= 20 rows, no L2, no early stopping below 10,000
  rows) memorise small books: German credit train AUC 1.000, calibration slope 0.48.
- random_forest: leaves of ~sqrt(n)/2 rows (5..500), so a leaf holds enough loans to give a
  default rate instead of a vote; bootstrap samples capped at 200,000 rows for speed.
- logistic_regression: C chosen by an internal stratified CV on the log loss (9 values,
  0.001..10); a maximum-likelihood fit needs no calibration stage (calibrate_by_default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from pd_lib.modelling.scorecard import DEFAULT_BIN_SHARE, Scorecard

# HistGradientBoosting bins at most 255 values: a string column with more categories stays
# ordinal-coded instead of native.
MAX_NATIVE_CATEGORIES = 255
LR_CS = tuple(float(c) for c in np.logspace(-3, 1, 9))
LR_SEARCH_MAX_ROWS = 20_000
RF_MAX_BOOTSTRAP_ROWS = 200_000


@dataclass(frozen=True)
class Layout:
    """The feature columns an estimator sees after preprocessing (TreeEncoder: numeric
    first, then categorical codes), which are native categories, and monotone constraints."""

    numeric: list[str]
    categorical: list[str]
    native_categorical: np.ndarray
    monotonic_cst: list[int] | None


@dataclass(frozen=True)
class ModelKind:
    """What the pipeline knows about one model kind."""

    name: str
    # Size-aware defaults for a training sample of n rows (pipeline names and estimator ones).
    defaults: Callable[[int], dict[str, Any]]
    # The estimator from resolved parameters, a seed and the feature layout.
    factory: Callable[[Mapping[str, Any], int, Layout], BaseEstimator]
    # Our parameter name (train's options, the grid syntax) -> the estimator's.
    tunable: Mapping[str, str]
    # Types skops must trust to load a fitted model of this kind, beyond COMMON_TRUSTED_TYPES.
    trusted_types: tuple[str, ...]
    # Scaled, one-hot encoded inputs with one coefficient per feature (linear models) instead
    # of TreeEncoder's codes (trees); ``splines``: a spline basis per numeric feature.
    linear: bool = False
    splines: bool = False
    # Whether calibration="auto" fits a calibration stage (a maximum-likelihood linear model
    # is calibrated by construction: measured, auto chose "none" for it on every book).
    calibrate_by_default: bool = True
    # Whether HistGradientBoosting-style monotone constraints are enforced in the fit.
    monotone: bool = False
    # Raw columns straight into the estimator, which bins them itself (the scorecard).
    binned: bool = False


def _clip(value: float, low: float, high: float) -> float:
    return float(min(max(value, low), high))


def _hgb_defaults(n: int) -> dict[str, Any]:
    leaf = int(round(_clip(math.sqrt(n), 20, 1000)))
    small = n < 5_000
    return {
        "n_estimators": 500,  # an upper bound: early stopping ends most fits far sooner
        "learning_rate": 0.05 if n < 50_000 else 0.1,
        "max_depth": 3 if small else 5,
        "max_leaf_nodes": 8 if small else 15,
        "min_samples_leaf": leaf,
        "l2_regularization": round(leaf / 20.0, 3),
        "validation_fraction": 0.2 if n < 10_000 else 0.1,
        "n_iter_no_change": 20 if n < 10_000 else 10,
    }


def _hist_gradient_boosting(params: Mapping[str, Any], seed: int, layout: Layout
                            ) -> HistGradientBoostingClassifier:
    native = bool(np.any(layout.native_categorical))
    return HistGradientBoostingClassifier(
        max_iter=int(params["n_estimators"]),
        learning_rate=float(params["learning_rate"]),
        max_depth=params.get("max_depth") or None,
        max_leaf_nodes=params.get("max_leaf_nodes"),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        early_stopping=True,
        scoring="loss",
        validation_fraction=float(params["validation_fraction"]),
        n_iter_no_change=int(params["n_iter_no_change"]),
        categorical_features=layout.native_categorical if native else None,
        monotonic_cst=layout.monotonic_cst,
        random_state=seed,
    )


def _rf_defaults(n: int) -> dict[str, Any]:
    return {
        "n_estimators": 200,
        "max_depth": None,
        "min_samples_leaf": int(round(_clip(math.sqrt(n) / 2.0, 5, 500))),
        "max_samples": None if n <= RF_MAX_BOOTSTRAP_ROWS else RF_MAX_BOOTSTRAP_ROWS,
    }


def _random_forest(params: Mapping[str, Any], seed: int, layout: Layout
                   ) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=int(params["n_estimators"]),
        max_depth=params.get("max_depth") or None,
        min_samples_leaf=int(params["min_samples_leaf"]),
        max_features="sqrt",
        max_samples=params.get("max_samples"),
        n_jobs=1,  # each fit's own cores are set by PDModel (pd_lib.cores.threads_per_fit)
        random_state=seed,
    )


def _lr_defaults(n: int) -> dict[str, Any]:
    # The penalty matters the fewer loans there are: C is chosen by CV log loss up to
    # LR_SEARCH_MAX_ROWS, above that a light fixed penalty (C = 1 on standardised inputs)
    # saves the 45 fits of the search, which were most of model=auto's time at 100,000 loans.
    if n <= LR_SEARCH_MAX_ROWS:
        return {"C": None, "Cs": LR_CS, "cv": 5}
    return {"C": 1.0}


def _logistic_regression(params: Mapping[str, Any], seed: int, layout: Layout) -> BaseEstimator:
    if params.get("C"):
        return LogisticRegression(C=float(params["C"]), max_iter=2000)
    # An int cv (stratified, unshuffled folds: deterministic) keeps a StratifiedKFold object,
    # a type skops would have to trust, out of the saved model. Newton-Cholesky: a handful of
    # Newton steps on these few columns, where lbfgs needed up to 74 iterations along the
    # penalty path; the spline model's search on 8,000 loans took 1.2 s instead of 8.5 s, the
    # same C chosen and holdout AUC equal to 1e-4 (the selection runs it once per fold).
    return LogisticRegressionCV(Cs=list(params["Cs"]), cv=int(params["cv"]), scoring="neg_log_loss",
                                l1_ratios=(0.0,), use_legacy_attributes=False, max_iter=2000,
                                solver="newton-cholesky")


# The scorecard: optimal bins with WoE, a logistic regression on them, points. A bin holds
# at least 5% of the loans (min_samples_leaf: at least that many rows). C = 0.1: on German
# credit (20% stratified holdout, seed 42) holdout AUC 0.815, Brier 0.153, 5-fold CV AUC 0.787;
# C = 1: 0.811, 0.152, 0.783.
POINTS_DEFAULTS = {"pdo": 20.0, "base_points": 600.0, "base_odds": 50.0}


def _scorecard_defaults(n: int) -> dict[str, Any]:
    return {"C": 0.1, "min_samples_leaf": max(int(math.ceil(DEFAULT_BIN_SHARE * n)), 1),
            **POINTS_DEFAULTS}


def _scorecard(params: Mapping[str, Any], seed: int, layout: Layout) -> BaseEstimator:
    constraints = dict(zip(layout.numeric, layout.monotonic_cst or [], strict=False))
    return Scorecard(pdo=float(params["pdo"]), base_points=float(params["base_points"]),
                     base_odds=float(params["base_odds"]),
                     monotone={k: int(v) for k, v in constraints.items() if v},
                     min_bin_rows=int(params["min_samples_leaf"]),
                     C=float(params["C"]))


KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (
    ModelKind(
        name="hist_gradient_boosting",
        defaults=_hgb_defaults,
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
            # native categorical support keeps scikit-learn's own input check as a partial
            "functools.partial",
            "sklearn.utils.validation.check_array",
        ),
        monotone=True,
    ),
    ModelKind(
        name="random_forest",  # the tutorial's
        defaults=_rf_defaults,
        factory=_random_forest,
        tunable={"n_estimators": "n_estimators", "max_depth": "max_depth",
                 "min_samples_leaf": "min_samples_leaf"},
        trusted_types=("sklearn.tree._tree.Tree",),
    ),
    ModelKind(
        name="logistic_regression",
        defaults=_lr_defaults,
        factory=_logistic_regression,
        tunable={"C": "C"},
        trusted_types=(),
        linear=True,
        calibrate_by_default=False,
    ),
    # An additive logistic model (a GAM): the same regularised logistic regression on a cubic
    # spline basis of each numeric feature. On the synthetic book, whose log-odds bend
    # (hinge, U shape, logarithms), its holdout AUC is 0.994 of the true PD's at 20,000
    # loans and 0.997 at 100,000 (logistic regression 0.976 / 0.981, boosting 0.978 / 0.993).
    ModelKind(
        name="spline_logistic_regression",
        defaults=_lr_defaults,
        factory=_logistic_regression,
        tunable={"C": "C"},
        trusted_types=("sklearn.preprocessing._data.StandardScaler",
                       "scipy.interpolate._bsplines.BSpline",
                       "scipy._lib.array_api_compat.numpy._aliases.asarray"),
        splines=True,
        calibrate_by_default=False,
    ),
    # The credit scorecard (pd_lib.modelling.scorecard): saved as its tables, scored with
    # numpy. In model=auto's comparison on books of at most 20,000 loans (its binning takes
    # seconds per fit); ask for it with model=scorecard for its points table at any size.
    ModelKind(
        name="scorecard",
        defaults=_scorecard_defaults,
        factory=_scorecard,
        tunable={"C": "C", "min_samples_leaf": "min_bin_rows", **{k: k for k in POINTS_DEFAULTS}},
        trusted_types=("pd_lib.modelling.scorecard.Scorecard",),
        monotone=True,
        binned=True,
    ),
)}
MODEL_KINDS = tuple(KINDS)
# model=auto: cross-validate these and keep one (pd_lib.modelling.selection).
AUTO = "auto"



def effective_calibration(model: str, calibration: str) -> str:
    """The calibration a ``model`` gets: ``auto`` means none for a kind calibrated by
    construction (a maximum-likelihood logistic regression), else the method itself."""
    if calibration in ("", "auto") and not KINDS[model].calibrate_by_default:
        return "none"
    return calibration or "auto"
