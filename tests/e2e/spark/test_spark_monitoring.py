"""Monitoring's counts on a real local[2] Spark (issue 32): the Spark aggregation gives the
counts pandas gives, bin for bin, and what reaches the driver is aggregates, not rows."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import DATE_COL, PD_COL, TARGET_COL
from pd_lib.errors import PipelineError
from pd_lib.validation import monitoring


def _period(n: int, seed: int) -> pd.DataFrame:
    """PDs (some 0, 1, below the floor, on bin edges), flags, a numeric characteristic with
    gaps, an integer, a text with gaps, a boolean and origination dates over four months."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 6.0, n)
    p[:5] = [0.0, 1.0, 0.0001, 0.25, 0.0003]
    x = rng.normal(size=n)
    x[::17] = np.nan
    return pd.DataFrame({
        PD_COL: p, TARGET_COL: (rng.uniform(size=n) < p).astype(int), "x": x,
        "k": rng.integers(0, 6, n),
        "c": pd.Series(rng.choice(["a", "b", "c", "new"], n)).where(lambda s: s != "c"),
        "flag": rng.uniform(size=n) < 0.3,
        DATE_COL: (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 120, n), "D")
                   + pd.to_timedelta(rng.integers(0, 86_400, n), "s")).astype(
            "datetime64[ns]")})


def _plan(reference: pd.DataFrame) -> monitoring.CountPlan:
    return monitoring.count_plan(reference[PD_COL].to_numpy(), reference,
                                 ["x", "k", "c", "flag"])


def _spark_counts(spark, period: pd.DataFrame, plan, tmp_path) -> monitoring.PeriodCounts:
    from pd_lib.mlflow_layer.scoring.spark_monitoring import period_counts_spark

    path = tmp_path / "period.parquet"
    period.to_parquet(path, index=False)  # as a user's file: dates as TIMESTAMP(NANOS)
    return period_counts_spark(spark.read.parquet(str(path)), plan)


def _assert_counts_equal(on_spark: monitoring.PeriodCounts,
                         on_pandas: monitoring.PeriodCounts) -> None:
    assert on_spark.n_loans == on_pandas.n_loans
    assert on_spark.n_defaults == on_pandas.n_defaults
    assert on_spark.has_outcomes == on_pandas.has_outcomes
    assert on_spark.pd_sum == pytest.approx(on_pandas.pd_sum, rel=1e-12)
    assert on_spark.floored_pd_sum == pytest.approx(on_pandas.floored_pd_sum, rel=1e-12)
    np.testing.assert_array_equal(on_spark.pd_bins, on_pandas.pd_bins)
    pd.testing.assert_frame_equal(on_spark.grades, on_pandas.grades, check_dtype=False,
                                  rtol=1e-12)
    assert on_spark.numeric.keys() == on_pandas.numeric.keys()
    for name, counts in on_pandas.numeric.items():
        np.testing.assert_array_equal(on_spark.numeric[name], counts, err_msg=name)
    assert on_spark.categorical == on_pandas.categorical
    if on_pandas.vintages is None:
        assert on_spark.vintages is None
    else:
        pd.testing.assert_frame_equal(on_spark.vintages, on_pandas.vintages,
                                      check_dtype=False, rtol=1e-12)
    if on_pandas.scores is None:
        assert on_spark.scores is None
    else:
        pd.testing.assert_frame_equal(on_spark.scores, on_pandas.scores, check_dtype=False)


def test_spark_counts_equal_pandas_counts_bin_for_bin(spark, tmp_path):
    reference, period = _period(1500, 1), _period(4000, 2)
    plan = _plan(reference)
    on_pandas = monitoring.period_counts(period, plan)
    on_spark = _spark_counts(spark, period, plan, tmp_path)
    _assert_counts_equal(on_spark, on_pandas)
    assert set(on_spark.categorical["c"]) == {"a", "b", "new", "<missing>"}  # as pandas
    assert set(on_spark.categorical["flag"]) == {"True", "False"}
    assert on_spark.numeric["x"][-1] == np.isnan(period["x"]).sum() > 0  # the missing bin
    assert list(on_spark.vintages["month"]) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    # the statistics from either engine's counts are the same numbers
    from_spark = monitoring.monitor_counts(reference, reference, on_spark, plan)
    from_pandas = monitoring.monitor(reference, reference, period, ["x", "k", "c", "flag"])
    assert from_spark.metrics.keys() == from_pandas.metrics.keys()
    for name, value in from_pandas.metrics.items():
        assert from_spark.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12,
                                                         nan_ok=True), name


def test_spark_counts_without_outcomes_or_dates(spark, tmp_path):
    reference = _period(1000, 3)
    period = _period(2000, 4).drop(columns=[TARGET_COL, DATE_COL])
    plan = _plan(reference)
    on_spark = _spark_counts(spark, period, plan, tmp_path)
    _assert_counts_equal(on_spark, monitoring.period_counts(period, plan))
    assert on_spark.vintages is None and on_spark.scores is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.assign(**{PD_COL: np.where(f.index < 3, np.nan, f[PD_COL])}),
     "3 of 600 PDs are missing"),
    (lambda f: f.assign(**{PD_COL: np.where(f.index.isin([2, 3]), 1.5, f[PD_COL])}),
     r"2 of 600 PDs lie outside \[0, 1\] \(min 0, max 1.5\)"),
    (lambda f: f.assign(**{TARGET_COL: np.where(f.index < 4, 2, f[TARGET_COL])}),
     r"4 of 600 default flags are not 0 or 1 \(e.g. 2\)"),
])
def test_spark_refuses_what_pandas_refuses_with_the_same_words(spark, tmp_path, change,
                                                                message):
    reference = _period(500, 5)
    period = change(_period(600, 6))
    plan = _plan(reference)
    with pytest.raises(PipelineError, match=message):
        monitoring.period_counts(period, plan)
    with pytest.raises(PipelineError, match=message):
        _spark_counts(spark, period, plan, tmp_path)


def test_only_aggregates_reach_the_driver(spark):
    """200,000 loans made on the executors (spark.range), never on the driver: the counts
    that come back are a few kilobytes, whatever the number of loans; the PDs take 1,000
    values, so at most 1,000 score bins are non-empty."""
    from pyspark.sql import functions as F

    from pd_lib.mlflow_layer.scoring.spark_monitoring import period_counts_spark

    reference = _period(1000, 7)
    plan = _plan(reference)
    rows = 200_000
    frame = spark.range(rows).select(
        (F.floor(F.rand(1) * 1000) / 1000).alias(PD_COL),
        F.when(F.rand(2) < 0.1, 1).otherwise(0).alias(TARGET_COL),
        F.randn(3).alias("x"), F.floor(F.rand(4) * 6).cast("long").alias("k"),
        F.when(F.rand(5) < 0.5, "a").otherwise("b").alias("c"), (F.rand(6) < 0.3).alias("flag"),
        (F.lit(1_735_689_600_000_000_000) + F.floor(F.rand(7) * 90).cast("long")
         * 86_400_000_000_000).alias(DATE_COL))
    counts = period_counts_spark(frame, plan)
    assert counts.n_loans == rows
    assert 0 < len(counts.scores) <= 1000
    assert counts.grades["count"].sum() == rows
    size = len(pickle.dumps(counts))
    assert size < 64_000, size  # one float per loan alone would be 1.6 MB
