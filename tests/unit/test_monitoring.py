"""Monitoring statistics against hand computations and reference implementations (scipy,
statsmodels), on small data; DeLong's drop test against a bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from pd_lib.validation import monitoring
from pd_lib.validation.calibration import calibration_in_the_large
from pd_lib.validation.discrimination import roc_auc
from pd_lib.validation.inputs import floor_pds
from pd_lib.validation.lights import Light
from pd_lib.validation.master_scale import binomial_pvalue, grade_table
from pd_lib.validation.stability import (
    characteristic_stability,
    population_stability_index,
    quantile_bin_edges,
)


def test_psi_critical_value_is_exceeded_about_five_percent_of_the_time_under_no_change():
    rng = np.random.default_rng(0)
    m, n, exceed = 2_000, 5_000, []
    for _ in range(400):
        ref, act = rng.normal(size=m), rng.normal(size=n)
        psi = population_stability_index(ref, act)
        bins = quantile_bin_edges(ref).size + 1
        exceed.append(psi > monitoring.psi_critical_value(m, n, bins, 0.95))
    assert 0.02 <= np.mean(exceed) <= 0.09


def test_psi_critical_value_and_pvalue_by_hand():
    crit = monitoring.psi_critical_value(1_000, 4_000, 10, 0.95)
    assert crit == pytest.approx((1 / 1_000 + 1 / 4_000) * 16.918977604620448)
    assert monitoring.psi_pvalue(crit, 1_000, 4_000, 10) == pytest.approx(0.05)


def test_grade_psi_by_hand():
    ref = np.array([0.004] * 50 + [0.008] * 50)       # grades 1 and 2, half each
    act = np.array([0.004] * 25 + [0.008] * 75)
    # counts 50/50 and 25/75, each plus the pseudo-count 0.5 (empty grades are no bins)
    r, a = np.array([50.5, 50.5]) / 101, np.array([25.5, 75.5]) / 101
    expected = np.sum((a - r) * np.log(a / r))
    assert monitoring.grade_psi(ref, act)["grade_psi"] == pytest.approx(expected)


def test_csi_table_matches_the_validation_csi_and_counts_categories():
    ref = pd.DataFrame({"x": np.arange(100.0), "c": ["a"] * 50 + ["b"] * 50})
    act = pd.DataFrame({"x": np.arange(100.0) + 30, "c": ["a"] * 20 + ["b"] * 60 + ["n"] * 20})
    table = monitoring.stability_table(ref, act, ["x", "c"]).set_index("characteristic")
    expected = characteristic_stability(ref, act, ["x", "c"])
    assert table.loc["x", "psi"] == pytest.approx(expected["x"])
    assert table.loc["c", "psi"] == pytest.approx(expected["c"])
    assert table.loc["c", "bins"] == 3
    assert monitoring.shifted_characteristics(table.reset_index())[0] == table["psi"].idxmax()


def test_two_proportion_pvalue_matches_statsmodels():
    for d1, n1, d2, n2 in ((10, 400, 25, 380), (30, 500, 28, 450), (3, 50, 9, 60)):
        _, expected = proportions_ztest([d1, d2], [n1, n2], alternative="smaller")
        assert monitoring.two_proportion_pvalue(d1, n1, d2, n2) == pytest.approx(expected)


def test_heterogeneity_pairs_adjacent_non_empty_grades():
    y = np.array([0] * 99 + [1] + [0] * 95 + [1] * 5 + [0] * 80 + [1] * 20)
    p = np.array([0.004] * 100 + [0.03] * 100 + [0.2] * 100)  # grades 1, 4, 8
    table = monitoring.heterogeneity_table(grade_table(y, p))
    assert list(table["grades"]) == ["1 vs 4", "4 vs 8"]
    _, first = proportions_ztest([1, 5], [100, 100], alternative="smaller")
    assert table["pvalue"].iloc[0] == pytest.approx(first)
    assert list(table["distinct"]) == [first < 0.05, True]


def test_portfolio_binomial_is_scipys():
    y = np.array([1] * 14 + [0] * 86)
    p = np.full(100, 0.1)
    result, _ = monitoring.calibration_metrics(y, p)
    expected = stats.binomtest(14, 100, 0.1, alternative="greater").pvalue
    assert result["binomial_pvalue_portfolio"] == pytest.approx(expected)
    assert binomial_pvalue(14, 100, 0.1) == pytest.approx(expected)


def test_auc_drop_standard_error_matches_a_bootstrap():
    rng = np.random.default_rng(3)

    def sample(n, strength):
        score = rng.normal(size=n)
        y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + strength * score)))).astype(int)
        return y, 1 / (1 + np.exp(-score))

    y_ref, p_ref = sample(1_500, 1.2)
    y_new, p_new = sample(1_500, 0.9)
    test = monitoring.auc_drop_test(y_ref, p_ref, y_new, p_new)
    drops = []
    for _ in range(400):  # defaulters and non-defaulters resampled separately, per sample
        a = [np.concatenate([rng.choice(np.flatnonzero(y == c), (y == c).sum()) for c in (0, 1)])
             for y in (y_ref, y_new)]
        drops.append(roc_auc(y_ref[a[0]], p_ref[a[0]])
                     - roc_auc(y_new[a[1]], p_new[a[1]]))
    assert test["roc_auc_drop"] == pytest.approx(
        roc_auc(y_ref, p_ref) - roc_auc(y_new, p_new))
    assert test["roc_auc_drop_se"] == pytest.approx(np.std(drops, ddof=1), rel=0.1)
    assert test["roc_auc_drop_pvalue"] == pytest.approx(
        stats.norm.sf(test["roc_auc_drop"] / test["roc_auc_drop_se"]))


def test_vintage_table_by_hand():
    period = pd.DataFrame({
        "origination_date": pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"] * 2),
        "pd": [0.1, 0.2, 0.3, 0.4, 0.5], "default": [0, 1, 0, 1, 1]})
    table = monitoring.vintage_table(period, np.linspace(0.05, 0.6, 200))
    assert list(table["month"]) == ["2025-01", "2025-02"]
    assert list(table["loans"]) == [3, 2]
    assert table["mean_pd"].tolist() == pytest.approx([0.2, 0.45])
    assert table["observed_default_rate"].tolist() == pytest.approx([1 / 3, 1.0])
    ref = np.linspace(0.05, 0.6, 200)
    assert table["psi"].iloc[1] == pytest.approx(
        population_stability_index(ref, np.array([0.4, 0.5])))


def _light(colour: str) -> Light:
    return Light("c", "m", 0.0, colour, "", "stability")


@pytest.mark.parametrize(("colours", "status"), [
    (["green", "green"], "green"), (["green", "grey"], "amber"), (["amber", "red"], "red"),
    ([], "green")])
def test_overall_status_is_the_worst_light_grey_as_amber(colours, status):
    assert monitoring.overall_status([_light(c) for c in colours]) == status


def test_a_period_without_outcomes_is_judged_on_stability_only():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=500), "pd": rng.uniform(0.01, 0.3, 500),
                              "default": rng.integers(0, 2, 500)})
    period = pd.DataFrame({"x": rng.normal(size=400), "pd": rng.uniform(0.01, 0.3, 400)})
    result = monitoring.monitor(reference, reference, period, ["x"])
    assert not result.has_outcomes and result.grades is None
    assert {li.category for li in result.lights} == {"stability"}
    assert "roc_auc" not in result.metrics


def test_a_period_without_defaults_is_not_silently_green():
    """No defaults: AUC and the relative calibration gap are not defined; grey lights, and
    grey counts as amber."""
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({"x": rng.normal(size=500), "pd": rng.uniform(0.01, 0.3, 500),
                              "default": rng.integers(0, 2, 500)})
    period = reference.assign(default=0)
    result = monitoring.monitor(reference, reference, period, ["x"])
    assert {li.metric for li in result.lights if li.colour == "grey"} >= {
        "roc_auc", "calibration_in_the_large_relative"}
    assert result.status in ("amber", "red")


@pytest.mark.parametrize(("status", "fail_on", "fails"), [
    ("red", "red", True), ("amber", "red", False), ("amber", "amber", True),
    ("green", "amber", False), ("red", "never", False)])
def test_fail_on_levels(status, fail_on, fails):
    from pd_lib.mlflow_layer.scoring.monitoring import fails as reaches

    assert reaches(status, fail_on) is fails


def test_monitor_from_counts_equals_the_statistics_on_rows():
    """Counts first (issue 32): the period's counts give the numbers the row functions give."""
    rng = np.random.default_rng(5)
    n_ref, n = 800, 1200
    reference = pd.DataFrame({"x": rng.normal(size=n_ref), "c": rng.choice(["a", "b"], n_ref),
                              "pd": rng.uniform(0.001, 0.4, n_ref),
                              "default": rng.integers(0, 2, n_ref)})
    x = rng.normal(0.3, 1.0, n)
    x[:50] = np.nan
    period = pd.DataFrame({
        "x": x, "c": pd.Series(rng.choice(["a", "b", "z"], n)).where(lambda s: s != "z"),
        "pd": rng.uniform(0.0, 0.5, n), "default": rng.integers(0, 2, n),
        "origination_date": pd.to_datetime("2025-01-15") + pd.to_timedelta(
            rng.integers(0, 90, n), unit="D")})
    result = monitoring.monitor(reference, reference, period, ["x", "c"])
    ref_pd, p, y = reference["pd"].to_numpy(), period["pd"].to_numpy(), period["default"]
    expected = {**monitoring.pd_psi(ref_pd, p), **monitoring.grade_psi(ref_pd, p)}
    floored = floor_pds(p)
    expected.update(calibration_in_the_large(y, floored))
    expected["jeffreys_pvalue_portfolio"] = stats.beta.cdf(floored.mean(), y.sum() + 0.5,
                                                           n - y.sum() + 0.5)
    expected["binomial_pvalue_portfolio"] = binomial_pvalue(int(y.sum()), n, floored.mean())
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-12), name
    assert abs(result.metrics["roc_auc"] - roc_auc(y, floored)) <= result.metrics[
        "roc_auc_error_bound"]
    rows = monitoring.stability_table(reference, period, ["x", "c"])
    pd.testing.assert_frame_equal(result.stability, rows)
    pd.testing.assert_frame_equal(result.vintages, monitoring.vintage_table(period, ref_pd))
    assert result.stability.set_index("characteristic").loc["c", "bins"] == 3  # <missing>
