"""Permutation feature importance on the holdout: works for every model kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from pd_lib.config import PERMUTATION_MAX_ROWS, PERMUTATION_REPEATS
from pd_lib.cores import parallel_fits


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
    # The features side by side on the step's cores (pd_lib.cores): each prediction is
    # small, so parallel predictions on one thread each beat one on many threads. The
    # shuffles come from one seed drawn up front, whatever the number of parallel fits.
    with parallel_fits(X.shape[1]) as fits:
        result = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=n_repeats,
                                        random_state=seed, n_jobs=fits)
    table = pd.DataFrame({"feature": list(X.columns), "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    return table.sort_values("importance_mean", ascending=False, kind="mergesort",
                             ignore_index=True)
