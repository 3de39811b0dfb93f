"""Later periods of the synthetic book (generate -P scenario=...): each scenario changes what
docs/synthetic_loan_book.md says it changes, and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import DATE_COL, TARGET_COL, TRUE_PD_COL
from pd_lib.data.sources import load_loans
from pd_lib.data.synthetic import (
    DOWNTURN_PD_FACTOR,
    PERIOD_MONTHS,
    pd_score,
    process_intercept,
    synthetic_loan_book,
    synthetic_period,
)
from pd_lib.errors import PipelineError


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def periods() -> dict[str, pd.DataFrame]:
    return {s: synthetic_period(20_000, 0.1, 7, s) for s in ("baseline", "downturn", "shift")}


def test_periods_are_the_twelve_months_after_the_development_window(periods):
    development = synthetic_loan_book(2_000, 0.1, 7)
    for period in periods.values():
        months = period[DATE_COL].dt.to_period("M")
        assert months.min() > development[DATE_COL].max().to_period("M")
        assert months.nunique() == PERIOD_MONTHS
        assert str(months.min()) == "2025-01" and str(months.max()) == "2025-12"


def test_baseline_and_shift_keep_the_development_truth(periods):
    for name in ("baseline", "shift"):
        period = periods[name]
        expected = _sigmoid(process_intercept(0.1) + pd_score(period))
        np.testing.assert_allclose(period[TRUE_PD_COL], expected, rtol=1e-12)


def test_the_process_intercept_is_the_development_books(periods):
    """b0 of the reference book vs b0 solved on a development book of 100,000 loans: the
    same process, so within sampling noise (the dev book's mean PD is 0.1 by construction)."""
    development = synthetic_loan_book(100_000, 0.1, 11)
    mean_under_process = _sigmoid(process_intercept(0.1) + pd_score(development)).mean()
    assert abs(mean_under_process - 0.1) < 0.002


def test_downturn_is_the_baseline_under_a_shock_on_every_logit(periods):
    baseline, downturn = periods["baseline"], periods["downturn"]
    features = [c for c in baseline.columns if c not in (TRUE_PD_COL, TARGET_COL)]
    pd.testing.assert_frame_equal(baseline[features], downturn[features])
    ratio = downturn[TRUE_PD_COL].mean() / baseline[TRUE_PD_COL].mean()
    assert ratio == pytest.approx(DOWNTURN_PD_FACTOR, rel=1e-9)
    shift = (np.log(downturn[TRUE_PD_COL] / (1 - downturn[TRUE_PD_COL]))
             - np.log(baseline[TRUE_PD_COL] / (1 - baseline[TRUE_PD_COL])))
    assert shift.min() > 0 and shift.max() - shift.min() < 1e-6  # one shock for every loan
    assert downturn[TARGET_COL].mean() > 1.6 * baseline[TARGET_COL].mean()


def test_shift_moves_income_dti_and_the_purpose_mix(periods):
    baseline, shift = periods["baseline"], periods["shift"]
    assert shift["annual_income"].median() < 0.85 * baseline["annual_income"].median()
    assert shift["debt_to_income"].mean() > 1.25 * baseline["debt_to_income"].mean()
    share = {name: p["purpose"].eq("small_business").mean() for name, p in
             (("baseline", baseline), ("shift", shift))}
    assert share["shift"] > 2 * share["baseline"]


def test_development_scenario_is_the_development_book():
    pd.testing.assert_frame_equal(
        load_loans("synthetic", 2_000, 10, 0.1, 5),
        load_loans("synthetic", 2_000, 10, 0.1, 5, scenario="development"))


def test_a_period_is_reproducible_and_not_the_development_books_draws():
    first, again = synthetic_period(2_000, 0.1, 5, "baseline"), synthetic_period(
        2_000, 0.1, 5, "baseline")
    pd.testing.assert_frame_equal(first, again)
    development = synthetic_loan_book(2_000, 0.1, 5)
    assert not np.allclose(first["age"].to_numpy(), development["age"].to_numpy())


@pytest.mark.parametrize(("source", "scenario", "message"), [
    ("synthetic", "recession", "unknown scenario 'recession'"),
    ("make_classification", "downturn", "needs source=synthetic"),
])
def test_bad_scenarios_are_refused_in_one_line(source, scenario, message):
    with pytest.raises(PipelineError, match=message):
        load_loans(source, 2_000, 10, 0.1, 5, scenario=scenario)
