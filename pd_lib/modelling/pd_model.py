"""PDModel: a scikit-learn pipeline whose ``predict`` returns the probability of default.

MLflow's pyfunc flavour calls ``predict``; a plain classifier would give 0/1 labels there,
and ``pyfunc_predict_fn="predict_proba"`` an unnamed two-column array (whose column 0,
P(no default), is what ``spark_udf`` picks). PDModel returns one column named ``pd``, so
batch scoring, ``mlflow models serve`` and Spark all give the same numbers under one name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline

from pd_lib.config import PD_COL
from pd_lib.threads import openmp_threads


class PDModel(ClassifierMixin, BaseEstimator):
    """Wraps a classifier pipeline; ``predict`` gives a ``pd`` column.

    A ClassifierMixin, so scikit-learn's scorers (roc_auc in GridSearchCV) use predict_proba.
    """

    def __init__(self, pipeline: Pipeline | None = None):
        self.pipeline = pipeline

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PDModel:
        """Fit a clone of the pipeline on ``X``, ``y``."""
        with openmp_threads(len(X)):
            self.pipeline_ = clone(self.pipeline).fit(X, y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns (no default, default), as scikit-learn gives them."""
        with openmp_threads(len(X)):
            return self.pipeline_.predict_proba(X)

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """The probability of default per row."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """One column ``pd``: the probability of default per row."""
        return pd.DataFrame({PD_COL: self.predict_pd(X)}, index=getattr(X, "index", None))

    @property
    def estimator_(self) -> BaseEstimator:
        """The fitted classifier at the end of the pipeline."""
        return self.pipeline_[-1]
