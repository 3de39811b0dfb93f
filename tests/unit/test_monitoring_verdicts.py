"""The verdicts of issue 16 on a champion trained on the synthetic book: baseline green or
amber, downturn red on calibration (PDs too low, per grade and portfolio), shift red or amber on
stability with the shifted characteristics named; 20,000-loan periods, three seeds. One fast
model per seed (hist_gradient_boosting, trained once), scored and judged per scenario."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.scenarios import LOANS, development, judge
from pd_lib.data.sources import load_loans
from pd_lib.validation.monitoring import Monitoring

SEEDS = (1, 2, 3)


def _judge(seed: int, scenario: str) -> Monitoring:
    return judge(seed, scenario)  # the recipe benchmarks/scenarios.py measures over seeds


def _colours(result: Monitoring, category: str) -> dict[str, str]:
    return {li.metric: li.colour for li in result.lights if li.category == category}


@pytest.mark.parametrize("seed", SEEDS)
def test_baseline_is_green_or_amber(seed):
    result = _judge(seed, "baseline")
    assert result.status in ("green", "amber"), [(li.metric, li.value) for li in result.lights]


@pytest.mark.parametrize("seed", SEEDS)
def test_downturn_is_red_on_calibration_pds_too_low_per_grade_and_portfolio(seed):
    result = _judge(seed, "downturn")
    calibration = _colours(result, "calibration")
    assert result.status == "red"
    assert calibration["calibration_in_the_large_relative"] == "red"
    assert calibration["jeffreys_pvalue_portfolio"] == "red"
    assert calibration["jeffreys_pvalue_grades_holm"] == "red"
    assert result.metrics["mean_pd"] < result.metrics["observed_default_rate"]
    too_low = result.grades[result.grades["count"] > 0]
    assert (too_low["mean_pd"] < too_low["observed_default_rate"]).mean() > 0.5
    assert set(_colours(result, "stability").values()) <= {"green", "amber"}


@pytest.mark.parametrize("seed", SEEDS)
def test_shift_is_red_or_amber_on_stability_naming_the_shifted_characteristics(seed):
    result = _judge(seed, "shift")
    stability = _colours(result, "stability")
    assert stability["csi_max"] in ("amber", "red") and stability["psi"] in ("amber", "red")
    assert {"debt_to_income", "annual_income"} <= set(result.shifted[:3])
    assert result.status in ("amber", "red")


def test_the_baseline_period_really_is_later_and_the_same_population():
    _, holdout, _, _ = development(SEEDS[0])
    period = load_loans("synthetic", LOANS, 10, 0.1, SEEDS[0], scenario="baseline")
    assert period["origination_date"].min() > pd.Timestamp("2024-12-01")
    assert abs(period["default"].mean() - holdout["default"].mean()) < 0.02
