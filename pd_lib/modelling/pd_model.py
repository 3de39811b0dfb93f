"""PDModel: a scikit-learn pipeline whose ``predict`` returns the (calibrated) probability of
default.

MLflow's pyfunc flavour calls ``predict``; PDModel returns one column named ``pd``, so batch
scoring, ``mlflow models serve`` and Spark all give the same numbers under one name.

Calibration is part of the model: ``fit`` makes out-of-fold PDs of the training sample
(:func:`pd_lib.modelling.calibration.calibration_plan`), chooses a map on them and keeps it
as plain numbers (``calibration_method_``, ``calibration_params_``), so skops loads the model
with no new trusted type. ``calibration_report_`` says what was chosen and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from pd_lib.config import PD_COL
from pd_lib.cores import fit_threads, side_by_side
from pd_lib.modelling.calibration import (
    apply_map,
    calibration_plan,
    check_method,
    choose_calibration,
)
from pd_lib.probability import BOOK_ODDS_FACTOR, odds_divided


def _raw_pd(pipeline: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """A fitted pipeline's PDs of ``X`` (before calibration), on this thread's cores."""
    with fit_threads(len(X)):
        return pipeline.predict_proba(X)[:, 1]


class PDModel(ClassifierMixin, BaseEstimator):
    """Wraps a classifier pipeline and a calibration map; ``predict`` gives a ``pd`` column.

    ``calibration``: "auto" (chosen by cross-validated log loss), "none", "sigmoid" or
    "isotonic". ``random_state`` seeds the calibration folds. A ClassifierMixin, so
    scikit-learn's scorers use predict_proba.
    """

    def __init__(self, pipeline: Pipeline | None = None, calibration: str = "none",
                 random_state: int = 42):
        self.pipeline = pipeline
        self.calibration = calibration
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PDModel:
        """Fit the pipeline on ``X``, ``y`` and, unless calibration="none", a calibration map
        on out-of-fold PDs of the same rows."""
        check_method(self.calibration)
        y = np.asarray(y)
        if self.calibration == "none":
            self.pipeline_ = self._fit_pipeline(X, y)
            method, params, report = "none", {}, {"method": "none", "rows": 0}
        else:
            raw, y_cal = self._out_of_fold(X, y)
            method, params, report = choose_calibration(
                raw, y_cal, self.calibration, self.random_state)
        return self._fitted(X, method, params, report)

    def fit_with_out_of_fold(self, X: pd.DataFrame, y: np.ndarray, raw: np.ndarray
                             ) -> PDModel:
        """The same as :meth:`fit` when ``raw`` holds the out-of-fold raw PDs of every row of
        ``X`` that fit's own cross-fitting would make (the same folds, :meth:`uses_folds`):
        a search that cross-validated this very candidate has them, and only the final fit
        on all rows is left to do."""
        check_method(self.calibration)
        y = np.asarray(y)
        self.pipeline_ = self._fit_pipeline(X, y)
        method, params, report = choose_calibration(
            np.asarray(raw, dtype=float), y, self.calibration, self.random_state)
        return self._fitted(X, method, params, report)

    def uses_folds(self, n_rows: int, folds: int, seed: int) -> bool:
        """Whether fit cross-fits ``n_rows`` rows on StratifiedKFold(folds, shuffle=True,
        random_state=seed), so out-of-fold PDs made on those folds are the ones fit makes."""
        return (self.calibration != "none" and calibration_plan(n_rows).folds == folds > 1
                and self.random_state == seed)

    def _fitted(self, X: pd.DataFrame, method: str, params: dict, report: dict) -> PDModel:
        """Set what a fitted PDModel holds besides its pipeline."""
        self.classes_ = self.pipeline_.classes_
        if len(self.pipeline_) > 1 and hasattr(self.pipeline_[-1], "coef_"):
            # a linear model's reason codes compare each input with its training mean
            self.encoded_means_ = np.asarray(self.pipeline_[:-1].transform(X),
                                             dtype=float).mean(axis=0)
        self.calibration_method_ = method
        self.calibration_params_ = params
        self.calibration_report_ = report
        return self

    def _fit_pipeline(self, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
        """A fitted clone of the pipeline. A forest fits its trees on this fit's threads
        (:func:`pd_lib.cores.fit_threads`) and predicts in one thread: summing its trees'
        probabilities in parallel adds them in thread order, and the PDs then differ in the
        last bit from call to call."""
        pipeline = clone(self.pipeline)
        # a forest's n_jobs (1 in kinds.py); logistic regression's is None and deprecated
        jobs = pipeline[-1].get_params().get("n_jobs") is not None
        with fit_threads(len(X)) as threads:
            if jobs:
                pipeline[-1].set_params(n_jobs=threads)
            pipeline.fit(X, y)
        if jobs:
            pipeline[-1].set_params(n_jobs=1)
        return pipeline

    def _out_of_fold(self, X: pd.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw PDs of rows the fitting pipeline did not see, and their flags; sets pipeline_."""
        plan = calibration_plan(len(X))
        if plan.folds == 1:
            rows = np.arange(len(X))
            fit_rows, cal_rows = train_test_split(rows, test_size=plan.holdout_share,
                                                  stratify=y, random_state=self.random_state)
            self.pipeline_ = self._fit_pipeline(X.iloc[fit_rows], y[fit_rows])
            return _raw_pd(self.pipeline_, X.iloc[cal_rows]), y[cal_rows]
        raw = np.empty(len(X), dtype=float)
        folds = list(StratifiedKFold(plan.folds, shuffle=True, random_state=self.random_state)
                     .split(np.zeros(len(X)), y))
        everything = np.arange(len(X))

        def fit_fold(fit_rows: np.ndarray, score_rows: np.ndarray | None) -> object:
            model = self._fit_pipeline(X.iloc[fit_rows], y[fit_rows])
            return model if score_rows is None else _raw_pd(model, X.iloc[score_rows])

        # the folds' fits and the final fit are independent: they run side by side
        *scored, self.pipeline_ = side_by_side(fit_fold, [*folds, (everything, None)])
        for (_, score_rows), fold_raw in zip(folds, scored, strict=True):
            raw[score_rows] = fold_raw
        return raw, y

    def predict_raw_pd(self, X: pd.DataFrame) -> np.ndarray:
        """The pipeline's PDs before calibration."""
        return _raw_pd(self.pipeline_, X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, columns (no default, default)."""
        pd_ = apply_map(getattr(self, "calibration_method_", "none"),
                        getattr(self, "calibration_params_", {}), self.predict_raw_pd(X))
        pd_ = odds_divided(pd_, getattr(self, BOOK_ODDS_FACTOR, 1.0))
        return np.column_stack([1.0 - pd_, pd_])

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """The calibrated probability of default per row."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """One column ``pd``: the probability of default per row."""
        return pd.DataFrame({PD_COL: self.predict_pd(X)}, index=getattr(X, "index", None))

    @property
    def estimator_(self) -> BaseEstimator:
        """The fitted classifier at the end of the pipeline."""
        return self.pipeline_[-1]
