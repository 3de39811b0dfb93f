"""Master scale: PDs mapped onto rating grades, with the per-grade calibration tests.

Per grade: count, share, defaults, mean PD, observed default rate, the Jeffreys test and a
one-sided binomial test. Both ask whether the grade's PD underestimates its default rate:

- Jeffreys (as in the ECB's instructions for reporting IRB validation results): with D
  defaults among N loans, the posterior of the default rate under the Jeffreys prior
  Beta(1/2, 1/2) is Beta(D + 1/2, N - D + 1/2); the p-value is that posterior's CDF at the
  PD, i.e. the posterior probability that the true rate is at most the PD. A small p-value
  means the PD is too low.
- Binomial: P(X >= D) for X ~ Binomial(N, PD) (scipy.stats.binomtest, alternative="greater").

For the portfolio: the Jeffreys test of all loans against their mean PD, and the Herfindahl
index of grade shares (1/number of grades for an even spread, 1 when all sit in one grade).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pd_lib.config import MASTER_SCALE

GRADE_COLUMNS = ("grade", "pd_lower", "pd_upper", "count", "share", "defaults", "mean_pd",
                 "observed_default_rate", "jeffreys_pvalue", "binomial_pvalue")


def check_scale(scale: Sequence[tuple[str, float]]) -> None:
    """A scale is non-empty, its bounds strictly increase, and the last one is 1."""
    bounds = [b for _, b in scale]
    if not bounds or any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:], strict=False)) \
            or bounds[-1] != 1.0 or bounds[0] <= 0:
        raise ValueError(f"master scale bounds must increase strictly from above 0 to 1; "
                         f"got {bounds}.")


def assign_grades(pd_pred: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE
                  ) -> np.ndarray:
    """The grade name of each PD: the first grade whose upper bound is >= the PD."""
    check_scale(scale)
    bounds = np.array([b for _, b in scale])
    names = np.array([g for g, _ in scale], dtype=object)
    index = np.searchsorted(bounds, np.clip(np.asarray(pd_pred, dtype=float), 0.0, 1.0),
                            side="left")
    return names[index]


def jeffreys_pvalue(defaults: int, count: int, pd_value: float) -> float:
    """Beta(D + 1/2, N - D + 1/2) CDF at the PD; small means the PD underestimates."""
    if count == 0:
        return float("nan")
    return float(stats.beta.cdf(pd_value, defaults + 0.5, count - defaults + 0.5))


def binomial_pvalue(defaults: int, count: int, pd_value: float) -> float:
    """P(X >= D), X ~ Binomial(N, PD); small means more defaults than the PD allows."""
    if count == 0:
        return float("nan")
    return float(stats.binomtest(int(defaults), int(count), float(pd_value),
                                 alternative="greater").pvalue)


def herfindahl_index(shares: np.ndarray) -> float:
    """Sum of squared shares: concentration of loans across grades."""
    return float(np.sum(np.square(np.asarray(shares, dtype=float))))


def grade_table(
    y_true: np.ndarray, pd_pred: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE
) -> pd.DataFrame:
    """One row per grade of ``scale`` (empty grades included) with counts, rates and tests."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(pd_pred, dtype=float)
    grades = assign_grades(p, scale)
    rows = []
    lower = 0.0
    for name, upper in scale:
        in_grade = grades == name
        n, d = int(in_grade.sum()), int(y[in_grade].sum())
        mean_pd = float(p[in_grade].mean()) if n else float("nan")
        rows.append({
            "grade": name, "pd_lower": lower, "pd_upper": upper, "count": n,
            "share": n / max(y.size, 1), "defaults": d, "mean_pd": mean_pd,
            "observed_default_rate": d / n if n else float("nan"),
            "jeffreys_pvalue": jeffreys_pvalue(d, n, mean_pd),
            "binomial_pvalue": binomial_pvalue(d, n, mean_pd),
        })
        lower = upper
    return pd.DataFrame(rows, columns=list(GRADE_COLUMNS))


def master_scale_metrics(table: pd.DataFrame, y_true: np.ndarray, pd_pred: np.ndarray
                         ) -> dict[str, float]:
    """Portfolio Jeffreys p-value, Herfindahl index, and per non-empty grade: count, mean PD,
    observed default rate and Jeffreys p-value as ``grade_<name>_<what>``."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(pd_pred, dtype=float)
    result = {
        "jeffreys_pvalue_portfolio": jeffreys_pvalue(int(y.sum()), int(y.size), float(p.mean())),
        "herfindahl_index": herfindahl_index(table["share"].to_numpy()),
        "grades_used": float((table["count"] > 0).sum()),
    }
    for row in table[table["count"] > 0].itertuples(index=False):
        result[f"grade_{row.grade}_count"] = float(row.count)
        result[f"grade_{row.grade}_mean_pd"] = float(row.mean_pd)
        result[f"grade_{row.grade}_observed_default_rate"] = float(row.observed_default_rate)
        result[f"grade_{row.grade}_jeffreys_pvalue"] = float(row.jeffreys_pvalue)
    return result
