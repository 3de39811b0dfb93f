"""The stratified sample of a large book (pd_lib.data.lake) without Spark: the shares, the
prior correction of the odds, and the holdout thinned back to the book's mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import TARGET_COL
from pd_lib.data.lake import (
    SAMPLING_ATTR,
    Sampling,
    book_frame,
    book_odds_factor,
    sampling_of,
    sampling_shares,
)
from pd_lib.data.splits import split_samples
from pd_lib.probability import odds_divided


def test_every_default_up_to_half_the_sample_and_a_uniform_share_of_the_rest():
    assert sampling_shares(1_000_000, 20_000, 100_000) == (1.0, 80_000 / 980_000)
    default_share, other_share = sampling_shares(1_000_000, 300_000, 100_000)
    assert default_share == pytest.approx(50_000 / 300_000) and other_share == 50_000 / 700_000
    assert sampling_shares(1_000, 100, 5_000) == (1.0, 1.0)  # a small book: all of it


def test_dividing_the_odds_gives_the_books_default_rate_back():
    """A sample keeping defaults with probability a and the rest with b has default odds
    (a / b) times the book's; odds_divided by a / b undoes it exactly."""
    book_rate, a, b = 0.02, 1.0, 0.08
    sample_rate = book_rate * a / (book_rate * a + (1 - book_rate) * b)
    assert odds_divided(np.array([sample_rate]), a / b)[0] == pytest.approx(book_rate, rel=1e-12)
    p = np.array([0.0, 0.3, 1.0])
    assert odds_divided(p, 1.0) is p  # no sampling: the model's own PDs, untouched


def test_the_holdout_is_thinned_to_the_books_mix():
    rng = np.random.default_rng(3)
    sampling = Sampling(book_loans=100_000, book_defaults=5_000, default_share=1.0,
                        other_share=0.1, seed=1)
    frame = pd.DataFrame({"x": rng.normal(size=14_500),
                          TARGET_COL: np.r_[np.ones(5_000), np.zeros(9_500)].astype(int)})
    thinned = book_frame(frame, sampling, seed=4)
    assert (thinned[TARGET_COL] == 0).sum() == 9_500  # every other loan kept
    assert thinned[TARGET_COL].mean() == pytest.approx(0.05, abs=0.006)  # the book's rate
    assert book_frame(frame, None, seed=4) is frame
    assert book_odds_factor(sampling) == 10.0 and book_odds_factor(None) == 1.0


def test_the_split_of_a_sample_fits_on_it_and_judges_on_the_books_mix():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=6_000),
                          TARGET_COL: (rng.uniform(size=6_000) < 0.3).astype(int)})
    assert split_samples(frame, 0.25, seed=2).reference is not None
    frame.attrs[SAMPLING_ATTR] = Sampling(60_000, 1_800, 1.0, 0.07, 9).as_dict()
    samples = split_samples(frame, 0.25, seed=2)
    assert sampling_of(frame) == samples.sampling
    assert samples.train[TARGET_COL].mean() == pytest.approx(0.3, abs=0.02)
    for judged in (samples.holdout, samples.reference):
        assert judged[TARGET_COL].mean() < 0.1  # about 1/(1 + 0.7 / 0.3 * 14.3) = 0.03
