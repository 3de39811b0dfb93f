"""Master scale: grade assignment, Jeffreys and binomial tests, Herfindahl index."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import beta as beta_function

from pd_lib.config import MASTER_SCALE, PD_FLOOR
from pd_lib.errors import PipelineError
from pd_lib.validation import master_scale
from tests.helpers import PROJECT_ROOT

SCALE = (("A", 0.01), ("B", 0.05), ("C", 1.0))


def test_grades_include_their_upper_bound():
    pds = np.array([0.0, 0.01, 0.010001, 0.05, 0.5, 1.0])
    assert list(master_scale.assign_grades(pds, SCALE)) == ["A", "A", "B", "B", "C", "C"]


def test_default_scale_has_seven_to_ten_grades_and_is_valid():
    assert 7 <= len(MASTER_SCALE) <= 10
    master_scale.check_scale(MASTER_SCALE)


@pytest.mark.parametrize("scale", [(), (("A", 0.5), ("B", 0.4), ("C", 1.0)),
                                   (("A", 0.5), ("B", 0.9)), (("A", 0.0), ("B", 1.0))])
def test_bad_scales_are_refused(scale):
    with pytest.raises(ValueError, match="master scale bounds"):
        master_scale.check_scale(scale)


def _beta_cdf_by_integration(x: float, a: float, b: float) -> float:
    value, _ = integrate.quad(lambda t: t ** (a - 1) * (1 - t) ** (b - 1), 0, x, limit=200)
    return value / beta_function(a, b)


@pytest.mark.parametrize("defaults,count,pd_value", [(3, 100, 0.02), (10, 200, 0.08),
                                                      (0, 50, 0.01)])
def test_jeffreys_p_value_is_the_posterior_cdf_at_the_pd(defaults, count, pd_value):
    expected = _beta_cdf_by_integration(pd_value, defaults + 0.5, count - defaults + 0.5)
    assert master_scale.jeffreys_pvalue(defaults, count, pd_value) == pytest.approx(expected,
                                                                                    rel=1e-6)


def test_jeffreys_p_value_tiny_when_the_observed_rate_far_exceeds_the_pd():
    assert master_scale.jeffreys_pvalue(defaults=30, count=200, pd_value=0.02) < 1e-8


def test_jeffreys_p_value_large_when_the_pd_is_conservative():
    assert master_scale.jeffreys_pvalue(defaults=1, count=200, pd_value=0.05) > 0.99


def test_binomial_p_value_is_the_upper_tail_sum():
    defaults, count, pd_value = 4, 60, 0.03
    expected = sum(math.comb(count, k) * pd_value ** k * (1 - pd_value) ** (count - k)
                   for k in range(defaults, count + 1))
    assert master_scale.binomial_pvalue(defaults, count, pd_value) == pytest.approx(expected)


def test_empty_grade_has_no_p_values():
    assert math.isnan(master_scale.jeffreys_pvalue(0, 0, 0.01))
    assert math.isnan(master_scale.binomial_pvalue(0, 0, 0.01))


def test_herfindahl_index_known_cases():
    assert master_scale.herfindahl_index(np.full(4, 0.25)) == pytest.approx(0.25)
    assert master_scale.herfindahl_index(np.array([1.0, 0.0, 0.0])) == 1.0


def test_grade_table_counts_rates_and_tests():
    y = np.array([0, 1, 0, 0, 1, 1, 0, 0])
    pds = np.array([0.005, 0.005, 0.03, 0.04, 0.04, 0.5, 0.6, 0.7])
    table = master_scale.grade_table(y, pds, SCALE)
    assert list(table["grade"]) == ["A", "B", "C"]
    assert list(table["count"]) == [2, 3, 3]
    assert list(table["defaults"]) == [1, 1, 1]
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc[1, "mean_pd"] == pytest.approx((0.03 + 0.04 + 0.04) / 3)
    assert table.loc[0, "observed_default_rate"] == 0.5
    assert table.loc[0, "jeffreys_pvalue"] == pytest.approx(
        master_scale.jeffreys_pvalue(1, 2, 0.005))
    assert list(table["pd_lower"]) == [0.0, 0.01, 0.05]


def test_grade_table_keeps_empty_grades():
    table = master_scale.grade_table(np.array([0, 1]), np.array([0.5, 0.6]), SCALE)
    assert list(table["count"]) == [0, 0, 2]
    assert math.isnan(table.loc[0, "mean_pd"])


def test_master_scale_metrics_portfolio_and_per_grade():
    rng = np.random.default_rng(3)
    pds = rng.uniform(0.001, 0.2, 1000)
    y = rng.binomial(1, pds)
    table = master_scale.grade_table(y, pds, SCALE)
    result = master_scale.master_scale_metrics(table, y, pds)
    assert result["jeffreys_pvalue_portfolio"] == pytest.approx(
        master_scale.jeffreys_pvalue(int(y.sum()), 1000, float(pds.mean())))
    assert result["herfindahl_index"] == pytest.approx(float((table["share"] ** 2).sum()))
    assert result["grades_used"] == 3.0
    assert result["grade_C_count"] == float(table.loc[2, "count"])
    # PDs doubled on the same defaults: conservative, portfolio p-value near 1;
    # PDs a fifth: far too low, tiny p-value
    assert master_scale.master_scale_metrics(table, y, 2 * pds)["jeffreys_pvalue_portfolio"] > 0.99
    assert master_scale.master_scale_metrics(table, y, pds / 5)["jeffreys_pvalue_portfolio"] < 1e-6


# --- issue 17: grading rule, refused PDs, floor, ECB forms --------------------------------


def test_floating_point_noise_does_not_move_a_pd_across_a_grade_bound():
    """0.1 + 0.2 landed in grade 9 while 0.3 landed in grade 8."""
    grades = master_scale.assign_grades(np.array([0.1 + 0.2, 0.35 - 0.05, 0.3, 0.3 + 1e-9]))
    assert list(grades) == ["8", "8", "8", "9"]


@pytest.mark.parametrize("pds,message", [(np.array([0.1, np.nan]), "1 of 2 PDs are missing"),
                                         (np.array([-0.01, 1.2]), "2 of 2 PDs lie outside")])
def test_missing_or_impossible_pds_are_refused_not_graded(pds, message):
    """A missing PD raised IndexError; PDs < 0 or > 1 went silently to grades 1 and 9."""
    with pytest.raises(PipelineError, match=message):
        master_scale.assign_grades(pds)
    with pytest.raises(PipelineError, match=message):
        master_scale.grade_table(np.array([0, 1]), pds)


def test_a_pd_of_zero_is_floored_so_no_defaults_pass_jeffreys():
    """PDs of exactly 0 gave Jeffreys p = 0 with 0 defaults."""
    table = master_scale.grade_table(np.zeros(200, dtype=int), np.zeros(200))
    # a sum of PDs over a count (issue 32: counts first), so equal up to rounding
    assert table.loc[0, "mean_pd"] == pytest.approx(PD_FLOOR, rel=1e-12)
    assert table.loc[0, "jeffreys_pvalue"] > 0.05 and table.loc[0, "jeffreys_light"] == "green"
    # the posterior Beta(0 + 1/2, 200 + 1/2) at the floored PD, computed apart, and the
    # figure docs/validation.md quotes for this case (issue 28: it said 0.19)
    expected = stats.beta.cdf(PD_FLOOR, 0.5, 200.5)
    assert table.loc[0, "jeffreys_pvalue"] == pytest.approx(expected, rel=1e-12)
    doc = " ".join((PROJECT_ROOT / "docs" / "validation.md").read_text().split())
    assert f"200 loans at PD 0 without a default now give p = {expected:.2f}" in doc


def test_ecb_herfindahl_index_known_cases():
    """HI = 1 + ln((CV^2 + 1) / K) / ln K: 0 even, 1 concentrated; = 1 + ln(sum s^2) / ln K."""
    assert master_scale.herfindahl_index_ecb(np.full(9, 1 / 9)) == pytest.approx(0.0, abs=1e-12)
    assert master_scale.herfindahl_index_ecb(np.array([1.0] + [0.0] * 8)) == pytest.approx(1.0)
    shares = np.array([0.5, 0.3, 0.2, 0.0])
    cv = np.std(shares) / np.mean(shares)
    expected = 1 + math.log((cv ** 2 + 1) / 4) / math.log(4)
    assert master_scale.herfindahl_index_ecb(shares) == pytest.approx(expected)
    assert expected == pytest.approx(1 + math.log(0.38) / math.log(4))


def test_holm_adjusted_p_values_by_hand():
    adjusted = master_scale.holm_adjusted(np.array([0.01, np.nan, 0.04, 0.03, 0.2]))
    # four tests: 4 * 0.01, max(0.04, 3 * 0.03), max(0.09, 2 * 0.04), max(0.09, 0.2)
    np.testing.assert_allclose(adjusted, [0.04, np.nan, 0.09, 0.09, 0.2])


def test_per_grade_jeffreys_lights_and_counts():
    rng = np.random.default_rng(4)
    pds = rng.uniform(0.001, 0.2, 4000)
    y = rng.binomial(1, pds)
    y[(pds > 0.05) & (pds <= 0.1)] = rng.binomial(1, 0.2, ((pds > 0.05) & (pds <= 0.1)).sum())
    table = master_scale.grade_table(y, pds)
    result = master_scale.master_scale_metrics(table, y, pds)
    assert table.set_index("grade").loc["6", "jeffreys_light"] == "red"  # 6-10% grade, 20% rate
    assert result["jeffreys_grades_red"] == float((table["jeffreys_light"] == "red").sum()) >= 1
    assert result["jeffreys_grades_red_holm"] >= 1
    assert result["jeffreys_pvalue_grades_holm"] == pytest.approx(
        table["jeffreys_pvalue_holm"].min())
    assert 0 < result["herfindahl_index_ecb"] < 1
    assert set(table["jeffreys_light"]) <= {"green", "amber", "red", ""}
