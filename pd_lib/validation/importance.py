"""Permutation feature importance on the holdout: works for every model kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from pd_lib.config import PERMUTATION_MAX_ROWS, PERMUTATION_REPEATS


def permutation_importance_table(
    model: BaseEstimator,
    X: pd.DataFrame,
    y: np.ndarray,
    seed: int,
    max_rows: int = PERMUTATION_MAX_ROWS,
    n_repeats: int = PERMUTATION_REPEATS,
) -> pd.DataFrame:
    """Mean and std drop in ROC AUC when each feature is shuffled, largest first.

    At most ``max_rows`` rows (a seeded sample stratified by the default flag) and
    ``n_repeats`` shuffles per feature, so the cost stays a few seconds.
    """
    y = np.asarray(y, dtype=int)
    if len(X) > max_rows:
        rows, _ = train_test_split(np.arange(len(X)), train_size=max_rows, stratify=y,
                                   random_state=seed)
        rows.sort()
        X, y = X.iloc[rows], y[rows]
    # One OpenMP thread: each prediction is small, and on a busy machine HistGradientBoosting's
    # threads wait on each other (30 x 2,000-row predictions: 9 s with 2 threads, 0.9 s with 1).
    with threadpool_limits(limits=1, user_api="openmp"):
        result = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=n_repeats,
                                        random_state=seed, n_jobs=1)
    table = pd.DataFrame({"feature": list(X.columns), "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    return table.sort_values("importance_mean", ascending=False, kind="mergesort",
                             ignore_index=True)
