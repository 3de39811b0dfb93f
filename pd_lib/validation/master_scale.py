"""Master scale: PDs mapped onto rating grades, with the per-grade calibration tests.

Per grade: count, share, defaults, mean PD, observed default rate, the Jeffreys test and a
one-sided binomial test. Both ask whether the grade's PD underestimates its default rate:

- Jeffreys (as in the ECB's instructions for reporting IRB validation results): with D
  defaults among N loans, the posterior of the default rate under the Jeffreys prior
  Beta(1/2, 1/2) is Beta(D + 1/2, N - D + 1/2); the p-value is that posterior's CDF at the
  PD, i.e. the posterior probability that the true rate is at most the PD. A small p-value
  means the PD is too low.
- Binomial: P(X >= D) for X ~ Binomial(N, PD) (scipy.stats.binomtest, alternative="greater").

Each grade's Jeffreys p-value gets a light (red < 0.01, amber < 0.05) and a Holm-adjusted
p-value across the non-empty grades (Holm 1979), so that nine tests at 1% do not flag a grade
by chance one time in eleven.

For the portfolio: the Jeffreys test of all loans against their mean PD, and the Herfindahl
index of grade shares, raw (sum of squared shares) and in the ECB's normalised form.
PDs are floored at config.PD_FLOOR and checked (no NaN, none outside [0, 1]) first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pd_lib.config import (
    JEFFREYS_GRADE_GREEN,
    JEFFREYS_GRADE_RED,
    MASTER_SCALE,
    MASTER_SCALE_DECIMALS,
    PD_FLOOR,
)
from pd_lib.validation.inputs import check_flags, check_pds, floor_pds

GRADE_COLUMNS = ("grade", "pd_lower", "pd_upper", "count", "share", "defaults", "mean_pd",
                 "observed_default_rate", "jeffreys_pvalue", "jeffreys_pvalue_holm",
                 "jeffreys_light", "binomial_pvalue")


def check_scale(scale: Sequence[tuple[str, float]]) -> None:
    """A scale is non-empty, its bounds strictly increase, and the last one is 1."""
    bounds = [b for _, b in scale]
    if not bounds or any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:], strict=False)) \
            or bounds[-1] != 1.0 or bounds[0] <= 0:
        raise ValueError(f"master scale bounds must increase strictly from above 0 to 1; "
                         f"got {bounds}.")


def assign_grades(pd_pred: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE
                  ) -> np.ndarray:
    """The grade name of each PD: the first grade whose upper bound is >= the PD rounded to
    MASTER_SCALE_DECIMALS places (so 0.1 + 0.2 grades like 0.3). Missing PDs and PDs outside
    [0, 1] are refused, not clipped."""
    check_scale(scale)
    bounds = np.array([b for _, b in scale])
    names = np.array([g for g, _ in scale], dtype=object)
    rounded = np.round(check_pds(pd_pred), MASTER_SCALE_DECIMALS)
    return names[np.searchsorted(bounds, rounded, side="left")]


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


def herfindahl_index_ecb(shares: np.ndarray) -> float:
    """The ECB instructions' form over K grades: HI = 1 + ln((CV^2 + 1) / K) / ln(K), CV the
    coefficient of variation (population) of the grade shares; 0 for an even spread, 1 when
    every loan sits in one grade, comparable across scales of different K."""
    s = np.asarray(shares, dtype=float)
    k = s.size
    if k < 2 or s.sum() <= 0:
        return float("nan")
    cv_squared = np.var(s) / np.mean(s) ** 2
    return float(1.0 + np.log((cv_squared + 1.0) / k) / np.log(k))


def holm_adjusted(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="mergesort")]
    m = order.size
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted


def jeffreys_light(pvalue: float) -> str:
    """green / amber / red of one grade's Jeffreys p-value ('' for an empty grade)."""
    if np.isnan(pvalue):
        return ""
    return ("red" if pvalue < JEFFREYS_GRADE_RED else
            "amber" if pvalue < JEFFREYS_GRADE_GREEN else "green")


def grade_table(
    y_true: np.ndarray, pd_pred: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE,
    pd_floor: float = PD_FLOOR,
) -> pd.DataFrame:
    """One row per grade of ``scale`` (empty grades included) with counts, rates, tests,
    each grade's Jeffreys light and its Holm-adjusted p-value; PDs floored at ``pd_floor``."""
    y = check_flags(y_true)
    p = floor_pds(check_pds(pd_pred), pd_floor)
    if y.shape != p.shape:
        raise ValueError(f"y_true and pd_pred must have the same length; got {y.size}, {p.size}.")
    return grade_table_from_counts(grade_sums(y, p, scale), scale)


def grade_sums(y: np.ndarray, floored_pd: np.ndarray,
               scale: Sequence[tuple[str, float]] = MASTER_SCALE) -> pd.DataFrame:
    """Per grade of ``scale`` (in its order, empty grades 0): ``count``, ``defaults`` and
    ``pd_sum`` (of the floored PDs): all the grade table needs."""
    grades = pd.Series(assign_grades(floored_pd, scale))
    frame = pd.DataFrame({"grade": grades, "count": 1, "defaults": np.asarray(y, dtype=float),
                          "pd_sum": floored_pd})
    sums = frame.groupby("grade", sort=False)[["count", "defaults", "pd_sum"]].sum()
    names = [g for g, _ in scale]
    return sums.reindex(names, fill_value=0).rename_axis("grade").reset_index()


def grade_table_from_counts(sums: pd.DataFrame,
                            scale: Sequence[tuple[str, float]] = MASTER_SCALE) -> pd.DataFrame:
    """:func:`grade_table` from per-grade ``count``, ``defaults`` and ``pd_sum`` (floored PDs)
    in the order of ``scale``, however they were counted (pandas or Spark)."""
    total = int(sums["count"].sum())
    rows = []
    lower = 0.0
    for (name, upper), row in zip(scale, sums.itertuples(index=False), strict=True):
        n, d = int(row.count), int(row.defaults)
        mean_pd = float(row.pd_sum) / n if n else float("nan")
        rows.append({
            "grade": name, "pd_lower": lower, "pd_upper": upper, "count": n,
            "share": n / max(total, 1), "defaults": d, "mean_pd": mean_pd,
            "observed_default_rate": d / n if n else float("nan"),
            "jeffreys_pvalue": jeffreys_pvalue(d, n, mean_pd),
            "binomial_pvalue": binomial_pvalue(d, n, mean_pd),
        })
        lower = upper
    table = pd.DataFrame(rows)
    table["jeffreys_pvalue_holm"] = holm_adjusted(table["jeffreys_pvalue"].to_numpy())
    table["jeffreys_light"] = [jeffreys_light(v) for v in table["jeffreys_pvalue"]]
    return table[list(GRADE_COLUMNS)]


def master_scale_metrics(table: pd.DataFrame, y_true: np.ndarray, pd_pred: np.ndarray,
                         pd_floor: float = PD_FLOOR) -> dict[str, float]:
    """Portfolio Jeffreys p-value (PDs floored at ``pd_floor``), Herfindahl index raw and
    ECB, the count of red and amber grades by Jeffreys, the smallest Holm-adjusted grade
    p-value and the grades it flags red, and per non-empty grade: count, mean PD, observed
    default rate and Jeffreys p-value as ``grade_<name>_<what>``."""
    y = check_flags(y_true)
    p = floor_pds(check_pds(pd_pred), pd_floor)
    return master_scale_metrics_from_counts(table, int(y.sum()), int(y.size), float(p.mean()))


def master_scale_metrics_from_counts(table: pd.DataFrame, defaults: int, count: int,
                                     mean_floored_pd: float) -> dict[str, float]:
    """:func:`master_scale_metrics` from the grade table and the portfolio's defaults, loans
    and mean floored PD."""
    holm = table["jeffreys_pvalue_holm"].to_numpy(dtype=float)
    result = {
        "jeffreys_pvalue_portfolio": jeffreys_pvalue(defaults, count, mean_floored_pd),
        "herfindahl_index": herfindahl_index(table["share"].to_numpy()),
        "herfindahl_index_ecb": herfindahl_index_ecb(table["share"].to_numpy()),
        "grades_used": float((table["count"] > 0).sum()),
        "jeffreys_grades_red": float((table["jeffreys_light"] == "red").sum()),
        "jeffreys_grades_amber": float((table["jeffreys_light"] == "amber").sum()),
        "jeffreys_pvalue_grades_holm": float(np.nanmin(holm)) if np.any(~np.isnan(holm))
        else float("nan"),
        "jeffreys_grades_red_holm": float(np.sum(holm < JEFFREYS_GRADE_RED)),
    }
    for row in table[table["count"] > 0].itertuples(index=False):
        result[f"grade_{row.grade}_count"] = float(row.count)
        result[f"grade_{row.grade}_mean_pd"] = float(row.mean_pd)
        result[f"grade_{row.grade}_observed_default_rate"] = float(row.observed_default_rate)
        result[f"grade_{row.grade}_jeffreys_pvalue"] = float(row.jeffreys_pvalue)
    return result
