"""The split parameter: random (stratified) and time (latest vintages out of time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import DATE_COL, TARGET_COL
from pd_lib.data.splits import out_of_time_mask, split_samples
from pd_lib.errors import PipelineError


def _book(n_months: int = 12, per_month: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=n_months, freq="MS")
    dates = np.repeat(months, per_month)
    return pd.DataFrame({"loan_id": np.arange(len(dates)), DATE_COL: dates,
                         "x": rng.normal(size=len(dates)),
                         TARGET_COL: rng.binomial(1, 0.2, len(dates))})


def test_random_split_is_stratified_and_has_no_oot():
    book = _book()
    samples = split_samples(book, 0.25, seed=1, split="random")
    assert samples.oot is None
    assert len(samples.holdout) == 150 and len(samples.train) == 450
    assert samples.holdout[TARGET_COL].mean() == pytest.approx(book[TARGET_COL].mean(), abs=0.01)


def test_time_split_takes_whole_latest_vintages():
    book = _book()
    samples = split_samples(book, 0.2, seed=1, split="time")
    # 20% of 600 = 120 loans -> the last 3 months (150 loans; 2 months = 100 is too few)
    assert len(samples.oot) == 150
    assert samples.oot[DATE_COL].min() == pd.Timestamp("2020-10-01")
    assert samples.train[DATE_COL].max() < samples.oot[DATE_COL].min()
    assert samples.holdout[DATE_COL].max() < samples.oot[DATE_COL].min()
    assert len(samples.train) + len(samples.holdout) + len(samples.oot) == len(book)
    assert set(samples.train["loan_id"]).isdisjoint(samples.holdout["loan_id"])


def test_out_of_time_mask_counts_loans_not_months():
    dates = pd.Series(pd.to_datetime(["2020-01-15"] * 90 + ["2020-02-01"] * 5 + ["2020-03-01"] * 5))
    mask = out_of_time_mask(dates, 0.08)
    assert mask.sum() == 10  # March (5) is not enough, February is added


def test_time_split_is_deterministic():
    book = _book()
    first = split_samples(book, 0.2, seed=3, split="time")
    second = split_samples(book, 0.2, seed=3, split="time")
    pd.testing.assert_frame_equal(first.holdout, second.holdout)


def test_time_split_without_dates_says_what_to_do():
    with pytest.raises(PipelineError, match="split=time needs an 'origination_date' column"):
        split_samples(_book().drop(columns=DATE_COL), 0.2, seed=1, split="time")


def test_time_split_with_a_single_vintage_is_refused():
    with pytest.raises(PipelineError, match="nothing is left to train on"):
        split_samples(_book(n_months=1, per_month=200), 0.2, seed=1, split="time")


def test_unknown_split_is_refused():
    with pytest.raises(PipelineError, match="unknown split 'vintage'; choose random or time"):
        split_samples(_book(), 0.2, seed=1, split="vintage")


def test_out_of_time_sample_without_defaulters_is_refused():
    book = _book()
    book.loc[book[DATE_COL] >= "2020-10-01", TARGET_COL] = 0
    with pytest.raises(PipelineError, match="out-of-time sample .* needs at least 2 of each"):
        split_samples(book, 0.2, seed=1, split="time")
