"""The blend: the mean log-odds of several calibrated PD models, recalibrated as one.

model=auto offers it on books small enough to cross-validate in folds
(:mod:`pd_lib.modelling.selection`): there one model's PDs vary most with the sample it was
fitted on, and the kinds err in different places, so their mean log-odds ranks better than any
one of them. On German credit (1,000 loans, 5-fold CV) logistic regression reached ROC AUC
0.782 and the scorecard 0.787, their blend with boosting, the forest and the spline model 0.790
at a log loss 0.009 lower (docs/model_defaults.md). There a single kind is chosen instead only
when its log loss is lower than the blend's by more than one standard error.

A fitted blend is a classifier at the end of a PDModel pipeline whose members are fitted
PDModels (each with its own calibration stage); the PDModel around it adds the calibration of
the mean. Saved with skops like every kind (this class is one trusted type), scored with the
members' own code, and explained by their reason codes averaged in log-odds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from pd_lib.probability import BOOK_ODDS_FACTOR, logit, odds_divided

BLEND = "blend"


class Blend(ClassifierMixin, BaseEstimator):
    """The mean log-odds of fitted ``members`` (PDModels) as a classifier.

    The members are fitted before the blend (``prefit``, as scikit-learn's FrozenEstimator
    is): cloning returns the blend itself and ``fit`` only checks them, so the PDModel that
    wraps it fits its calibration stage without fitting the members again.
    """

    def __init__(self, members: list | None = None, kinds: list[str] | None = None):
        self.members = members
        self.kinds = kinds

    def __sklearn_clone__(self) -> Blend:
        return self

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Blend:
        """Check that every member is fitted; nothing is refitted."""
        if not self.members or any(not hasattr(m, "pipeline_") for m in self.members):
            raise ValueError("a Blend is built from fitted PDModels.")
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(X.columns)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns (no default, default) of the members' mean log-odds."""
        pd_ = blend_of([member.predict_pd(X) for member in self.members])
        pd_ = odds_divided(pd_, getattr(self, BOOK_ODDS_FACTOR, 1.0))
        return np.column_stack([1.0 - pd_, pd_])


def blend_of(pds: list[np.ndarray]) -> np.ndarray:
    """The blend's raw PD from the members' PDs of the same rows: the PD of their mean
    log-odds (``logit`` clips a PD of 0 or 1 first)."""
    mean_log_odds = np.column_stack([logit(p) for p in pds]).mean(axis=1)
    return 1.0 / (1.0 + np.exp(-mean_log_odds))
