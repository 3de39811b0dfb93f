"""Monitoring on Spark (issue 32): the period's counts as Spark aggregations, so that the
driver receives aggregates only, never the period's rows.

:func:`period_counts_spark` computes on a scored Spark DataFrame what
:func:`pd_lib.validation.monitoring.period_counts` computes with pandas, bin for bin: the PD
and every characteristic cut by the development sample's edges (or counted per category), per
master-scale grade the loans, defaults and sum of floored PDs, per origination month the loans,
PD sum, defaults and PD bins, and the score histogram of the AUC. The statistics are then the
same functions of those counts on both engines. pyspark is imported only when a function runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pd_lib.config import DATE_COL, MASTER_SCALE, PD_COL, PD_FLOOR, TARGET_COL
from pd_lib.mlflow_layer.scoring.spark import grade_column
from pd_lib.validation.discrimination import SCORE_BINS
from pd_lib.validation.inputs import check_flag_counts, check_pd_counts
from pd_lib.validation.monitoring import CountPlan, PeriodCounts, pd_bin_columns
from pd_lib.validation.stability import MISSING_CATEGORY

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql import DataFrame as SparkDataFrame

NANOS_PER_DAY = 86_400_000_000_000
MICROS_PER_DAY = 86_400_000_000


def bin_column(column: Column, edges: np.ndarray) -> Column:
    """The bin of :func:`pd_lib.validation.stability.binned_counts`: the number of ``edges``
    below the value (bins closed on the right), missing values (null, NaN) in the last bin."""
    from pyspark.sql import functions as F

    value = column.cast("double")
    inside = F.lit(0)
    for edge in edges:
        inside = inside + F.when(value > F.lit(float(edge)), 1).otherwise(0)
    return F.when(value.isNull() | F.isnan(value), F.lit(int(edges.size) + 1)).otherwise(inside)


def category_column(column: Column, data_type) -> Column:
    """The category text pandas counts (:func:`pd_lib.validation.stability.category_labels`):
    str() of the value (True/False for booleans), missing values '<missing>'."""
    from pyspark.sql import functions as F

    if type(data_type).__name__ == "BooleanType":
        text = F.when(column, F.lit("True")).otherwise(F.lit("False"))
    else:
        text = column.cast("string")
    return F.when(column.isNull(), F.lit(MISSING_CATEGORY)).otherwise(text)


def month_column(column: Column, data_type) -> Column:
    """The origination month as text YYYY-MM, as pandas reads it: nanoseconds since the epoch
    (how this project's Spark session reads pandas' timestamps), a timestamp in UTC, a date or a
    parseable text."""
    from pyspark.sql import functions as F

    name = type(data_type).__name__

    def from_days(units: Column, per_day: int) -> Column:
        days = (units - F.pmod(units, F.lit(per_day))) / F.lit(per_day)
        return F.date_format(F.date_add(F.lit("1970-01-01").cast("date"), days.cast("int")),
                             "yyyy-MM")

    if name in ("LongType", "IntegerType"):
        return from_days(column.cast("long"), NANOS_PER_DAY)
    if name == "TimestampType":
        return from_days(F.unix_micros(column), MICROS_PER_DAY)
    if name in ("TimestampNTZType", "DateType"):
        return F.date_format(column, "yyyy-MM")
    return F.date_format(F.to_timestamp(column), "yyyy-MM")


def _count_if(condition: Column) -> Column:
    from pyspark.sql import functions as F

    return F.sum(F.when(condition, 1).otherwise(0))


def period_counts_spark(scored: SparkDataFrame, plan: CountPlan) -> PeriodCounts:
    """The counts of :func:`pd_lib.validation.monitoring.period_counts` from ``scored`` (the
    period with its ``pd`` column, the characteristics, optionally ``default`` and
    ``origination_date``), each a Spark aggregation: one pass for the totals, bins and grades,
    one per group (score bins, months, categories) over the persisted frame. PDs and flags are
    checked as pandas checks them, from counts."""
    from pyspark.sql import functions as F

    types = {f.name: f.dataType for f in scored.schema.fields}
    has_outcomes, has_dates = TARGET_COL in types, DATE_COL in types
    p = F.col(PD_COL)
    floored = F.greatest(p, F.lit(PD_FLOOR))
    y = F.col(TARGET_COL).cast("double") if has_outcomes else F.lit(0.0)
    columns = [p.alias("p"), floored.alias("floored"), y.alias("y"),
               bin_column(p, plan.pd_edges).alias("pd_bin"),
               grade_column(floored).alias("grade"),
               F.least(F.floor(F.sqrt(floored) * F.lit(float(SCORE_BINS))),
                       F.lit(SCORE_BINS - 1)).alias("score_bin"),
               *[bin_column(F.col(f), edges).alias(f"num_{i}")
                 for i, (f, edges) in enumerate(plan.numeric.items())],
               *[category_column(F.col(f), types[f]).alias(f"cat_{i}")
                 for i, f in enumerate(plan.categorical)]]
    if has_dates:
        columns.append(month_column(F.col(DATE_COL), types[DATE_COL]).alias("month"))
    frame = scored.select(*columns).persist()
    try:
        totals = _totals(frame, plan)
        n = int(totals["n"])
        check_pd_counts(n, int(totals["pd_missing"]), int(totals["pd_outside"]),
                        _number(totals["pd_min"]), _number(totals["pd_max"]))
        if has_outcomes:
            example = frame.where(~F.col("y").isin(0.0, 1.0)).select("y").limit(1).collect()
            check_flag_counts(n, int(totals["y_missing"]), int(totals["y_other"]),
                              float(example[0]["y"]) if example else float("nan"))
        return PeriodCounts(
            n_loans=n, pd_sum=_number(totals["pd_sum"]),
            floored_pd_sum=_number(totals["floored_sum"]),
            pd_bins=_bins(totals, "pd_bin", plan.pd_edges.size + 2),
            grades=pd.DataFrame({
                "grade": [g for g, _ in MASTER_SCALE],
                "count": [int(totals[f"grade_{i}_count"]) for i in range(len(MASTER_SCALE))],
                "defaults": [_number(totals[f"grade_{i}_defaults"])
                             for i in range(len(MASTER_SCALE))],
                "pd_sum": [_number(totals[f"grade_{i}_pd_sum"])
                           for i in range(len(MASTER_SCALE))]}),
            numeric={f: _bins(totals, f"num_{i}", edges.size + 2)
                     for i, (f, edges) in enumerate(plan.numeric.items())},
            categorical=_categories(frame, plan),
            vintages=_vintages(frame, plan, has_outcomes) if has_dates else None,
            has_outcomes=has_outcomes, n_defaults=int(totals["defaults"]),
            scores=_score_histogram(frame) if has_outcomes else None)
    finally:
        frame.unpersist()


def _number(value) -> float:
    """A Spark sum as a float: 0 for the null of an empty sum."""
    return 0.0 if value is None else float(value)


def _bins(totals, prefix: str, count: int) -> np.ndarray:
    return np.array([_number(totals[f"{prefix}_{k}"]) for k in range(count)])


def _totals(frame: SparkDataFrame, plan: CountPlan):
    """One row: loans, PD and flag checks, sums, and the loans per bin and per grade."""
    from pyspark.sql import functions as F

    p, y = F.col("p"), F.col("y")
    sums = [F.count(F.lit(1)).alias("n"),
            _count_if(p.isNull() | F.isnan(p)).alias("pd_missing"),
            _count_if((p < 0.0) | (p > 1.0)).alias("pd_outside"),
            F.min(p).alias("pd_min"), F.max(p).alias("pd_max"),
            F.sum(p).alias("pd_sum"), F.sum("floored").alias("floored_sum"),
            _count_if(y.isNull() | F.isnan(y)).alias("y_missing"),
            _count_if(~y.isin(0.0, 1.0)).alias("y_other"),
            F.sum(F.when(y == 1.0, 1).otherwise(0)).alias("defaults")]
    sums += [_count_if(F.col("pd_bin") == k).alias(f"pd_bin_{k}")
             for k in range(plan.pd_edges.size + 2)]
    for i, edges in enumerate(plan.numeric.values()):
        sums += [_count_if(F.col(f"num_{i}") == k).alias(f"num_{i}_{k}")
                 for k in range(edges.size + 2)]
    for i, (grade, _) in enumerate(MASTER_SCALE):
        in_grade = F.col("grade") == F.lit(grade)
        sums += [_count_if(in_grade).alias(f"grade_{i}_count"),
                 F.sum(F.when(in_grade, y).otherwise(0.0)).alias(f"grade_{i}_defaults"),
                 F.sum(F.when(in_grade, F.col("floored")).otherwise(0.0)).alias(
                     f"grade_{i}_pd_sum")]
    return frame.agg(*sums).collect()[0]


def _score_histogram(frame: SparkDataFrame) -> pd.DataFrame:
    """Defaulters and non-defaulters per non-empty score bin (at most SCORE_BINS rows)."""
    from pyspark.sql import functions as F

    rows = frame.groupBy("score_bin").agg(
        F.sum(F.col("y")).alias("bad"), F.sum(1.0 - F.col("y")).alias("good")
    ).orderBy("score_bin").toPandas()
    return pd.DataFrame({"score_bin": rows["score_bin"].astype(np.int64),
                         "bad": rows["bad"].astype(float), "good": rows["good"].astype(float)})


def _categories(frame: SparkDataFrame, plan: CountPlan) -> dict[str, dict[str, float]]:
    """Loans per category of every categorical characteristic, in one pass."""
    from pyspark.sql import functions as F

    if not plan.categorical:
        return {}
    pairs = F.explode(F.array(*[F.struct(F.lit(i).alias("i"), F.col(f"cat_{i}").alias("c"))
                                for i in range(len(plan.categorical))])).alias("pair")
    rows = frame.select(pairs).groupBy("pair.i", "pair.c").count().collect()
    found: dict[str, dict[str, float]] = {f: {} for f in plan.categorical}
    for row in rows:
        found[plan.categorical[int(row["i"])]][str(row["c"])] = float(row["count"])
    return found


def _vintages(frame: SparkDataFrame, plan: CountPlan, has_outcomes: bool) -> pd.DataFrame:
    """:func:`pd_lib.validation.monitoring.vintage_sums` per origination month (loans without
    a date left out, as pandas groups them)."""
    from pyspark.sql import functions as F

    names = pd_bin_columns(plan.pd_edges)
    rows = frame.where(F.col("month").isNotNull()).groupBy("month").agg(
        F.count(F.lit(1)).alias("loans"), F.sum("p").alias("pd_sum"),
        F.sum("y").alias("defaults"),
        *[_count_if(F.col("pd_bin") == k).alias(name) for k, name in enumerate(names)]
    ).orderBy("month").toPandas()
    rows["loans"] = rows["loans"].astype(int)
    rows[names] = rows[names].astype(float)
    rows["defaults"] = rows["defaults"].astype(float) if has_outcomes else float("nan")
    return rows[["month", "loans", "pd_sum", "defaults", *names]]
