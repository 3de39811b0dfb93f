"""Small books with a known truth, for tests: one a logistic regression fits exactly, one
only trees can (interactions and thresholds)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _book(X: np.ndarray, score: np.ndarray, default_rate: float, rng: np.random.Generator
          ) -> pd.DataFrame:
    from scipy.optimize import brentq

    b0 = brentq(lambda b: np.mean(1 / (1 + np.exp(-(score + b)))) - default_rate, -30, 30)
    true_pd = 1 / (1 + np.exp(-(score + b0)))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["true_pd"] = true_pd
    frame["default"] = (rng.random(len(true_pd)) < true_pd).astype(int)
    return frame


def linear_book(n: int, seed: int = 0, default_rate: float = 0.15) -> pd.DataFrame:
    """Loans whose logit PD is linear in 6 standard-normal features (3 informative)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    return _book(X, X @ np.array([1.0, -0.7, 0.5, 0.0, 0.0, 0.0]), default_rate, rng)


def interaction_book(n: int, seed: int = 0, default_rate: float = 0.15) -> pd.DataFrame:
    """Loans whose logit PD is driven by interactions and thresholds (no linear main
    effect a logistic regression could use): x0*x1, a switch on sign(x2), a hump in x3."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    score = 1.5 * X[:, 0] * X[:, 1] + 1.2 * np.sign(X[:, 2]) * X[:, 3] - 1.0 * X[:, 4] ** 2
    return _book(X, score, default_rate, rng)
