"""Issue 17: statistics a supervisor would accept. Row-order and tie invariance, HL at its
size boundary and on low-default books, DeLong against a bootstrap, edge inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pd_lib.config import LIGHT_THRESHOLDS, PD_FLOOR
from pd_lib.errors import PipelineError
from pd_lib.validation import lights, metrics
from pd_lib.validation.auc_comparison import PASS, REFUSE, compare_aucs, delong_difference
from pd_lib.validation.calibration import (
    hl_subsample_size,
    hosmer_lemeshow,
    hosmer_lemeshow_subsample_reject_share,
    hosmer_lemeshow_test,
    merge_groups,
    value_groups,
)
from pd_lib.validation.discrimination import (
    ks_direction,
    ks_statistic,
    roc_auc,
    roc_auc_interval,
    roc_auc_standard_error,
)
from pd_lib.validation.inputs import floor_pds
from pd_lib.validation.stability import feature_counts, population_stability_index, psi_from_counts
from tests.unit.test_metrics import _calibrated_sample

COLOUR_STEP = {"green": 0, "amber": 1, "red": 2}
HL_RULES = {k: v for k, v in LIGHT_THRESHOLDS.items()
            if v["metric"].startswith("hosmer_lemeshow")}


def _tied_book(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PDs from {0.02, 0.05, 0.15} (a tree's leaves) and flags drawn from them."""
    rng = np.random.default_rng(seed)
    pd_pred = rng.choice([0.02, 0.05, 0.15], n)
    return rng.binomial(1, pd_pred), pd_pred


def _same(first: dict[str, float], second: dict[str, float]) -> bool:
    return first.keys() == second.keys() and all(
        np.isclose(first[k], second[k], rtol=1e-12, atol=1e-12, equal_nan=True) for k in first)


# --- row order and ties --------------------------------------------------------------------


def test_every_statistic_is_invariant_to_shuffling_tied_pds():
    """Issue 17, item 3: over 20 shuffles HL p ranged 0.0001-0.707, ECE 0.022-0.050."""
    y, pd_pred = _tied_book()
    reference = metrics.pd_metrics(y, pd_pred, 0.5)
    rng = np.random.default_rng(1)
    for _ in range(20):
        order = rng.permutation(y.size)
        assert _same(metrics.pd_metrics(y[order], pd_pred[order], 0.5), reference)


def test_tied_pds_always_share_a_hosmer_lemeshow_group():
    _, pd_pred = _tied_book(3000)
    groups = value_groups(pd_pred)
    for value in np.unique(pd_pred):
        assert np.unique(groups[pd_pred == value]).size == 1


def test_every_statistic_is_invariant_to_row_order_above_the_subsample_size():
    """The subsample share too: subsamples are drawn from the rows in a canonical order
    (it ranged 0.36-0.40 over 5 shuffles)."""
    y, pd_pred = _calibrated_sample(6000, seed=3)
    pd_pred = np.round(1.15 * pd_pred, 3)  # some misfit, many ties
    reference = metrics.pd_metrics(y, pd_pred, 0.5)
    assert 0 < reference["hosmer_lemeshow_subsample_reject_share"] < 1
    order = np.random.default_rng(2).permutation(y.size)
    assert _same(metrics.pd_metrics(y[order], pd_pred[order], 0.5), reference)


# --- Hosmer-Lemeshow: merged groups, low-default books, the size boundary ------------------


def test_merged_groups_expect_five_defaults_and_non_defaults_each():
    assert list(merge_groups(np.array([1.0, 2.0, 3.0, 6.0, 1.0]),
                                     np.full(5, 100.0))) == [0, 0, 0, 1, 1]
    y, pd_pred = _calibrated_sample(2000, seed=4)
    group = merge_groups(
        *(np.bincount(value_groups(pd_pred), weights=w) for w in (pd_pred, None)))
    first = value_groups(pd_pred)
    merged = group[first]
    expected = np.bincount(merged, weights=pd_pred)
    assert np.all(expected >= 5) and np.all(np.bincount(merged) - expected >= 5)
    assert hosmer_lemeshow_test(y, pd_pred)[2] == merged.max() + 1


def test_pds_of_exactly_zero_no_longer_blow_up_hosmer_lemeshow():
    """Item 2: 100 loans at PD 0 with one default moved H from 7.6 to 10,005 (scaled with
    the clip constant). Merged groups and the PD floor keep it a statistic of the data."""
    y, pd_pred = _calibrated_sample(2000, seed=3)
    y2 = np.concatenate([y, [1] + [0] * 99])
    pd2 = np.concatenate([pd_pred, np.zeros(100)])
    with_zeros = metrics.pd_metrics(y2, pd2, 0.5)
    without = metrics.pd_metrics(y, pd_pred, 0.5)
    assert with_zeros["hosmer_lemeshow_stat"] < 2 * without["hosmer_lemeshow_stat"]
    assert with_zeros["hosmer_lemeshow_pvalue"] > 0.05
    assert hosmer_lemeshow(y2, pd2)[0] == pytest.approx(
        hosmer_lemeshow(y2, np.maximum(pd2, 1e-9))[0], rel=0.01)


def test_hl_false_red_rate_on_calibrated_low_default_books_is_at_most_half_a_percent():
    """Item 2: mean PD 0.56%, 1,000 books of 2,000 loans, flags drawn from the PDs: the
    10-group test was red 1.9% of the time (nominal 0.1%). Measured now: 0.2% red, 3.9%
    below 0.05. About 0.6 s."""
    rng = np.random.default_rng(17)
    pds = floor_pds(rng.beta(0.5, 89.0, (1000, 2000)))
    flags = (rng.random(pds.shape) < pds).astype(int)
    pvalues = np.array([hosmer_lemeshow(y, p)[1] for y, p in zip(flags, pds,
                                                                          strict=True)])
    assert 0.004 < pds.mean() < 0.007
    assert np.mean(pvalues < 0.001) <= 0.005
    assert np.mean(pvalues < 0.05) <= 0.07


def _hl_colour(y: np.ndarray, pd_pred: np.ndarray) -> str:
    values = {"n_loans": float(y.size), "hosmer_lemeshow_pvalue": hosmer_lemeshow(
        y, pd_pred)[1]}
    if y.size > HL_SUBSAMPLE_SIZE_RULE:
        values["hosmer_lemeshow_subsample_reject_share"] = (
            hosmer_lemeshow_subsample_reject_share(y, pd_pred))
    (light,) = lights.traffic_lights(values, HL_RULES)
    return light.colour


HL_SUBSAMPLE_SIZE_RULE = 5000


@pytest.mark.parametrize("factor,seed", [(1.0, 0), (1.1, 0), (1.1, 1), (1.2, 1), (1.2, 2),
                                         (1.5, 0)])
def test_hl_light_moves_at_most_one_colour_across_the_subsample_boundary(factor, seed):
    """Item 1: 5,000 loans p = 0.042 (amber), 5,001 share 1.00 (red): subsamples of 5,000
    from 5,001 were the whole sample. Now at most half the sample is drawn."""
    rng = np.random.default_rng(seed)
    pd_true = rng.beta(1.2, 10.0, 5100)
    y, pd_pred = rng.binomial(1, pd_true), np.clip(factor * pd_true, 0, 1)
    colours = [COLOUR_STEP[_hl_colour(y[:n], pd_pred[:n])] for n in (4999, 5000, 5001, 5100)]
    assert max(colours) - min(colours) <= 1, colours


def test_subsamples_just_above_the_boundary_are_half_the_sample():
    assert hl_subsample_size(5001) == 2500
    assert hl_subsample_size(10_000) == 5000
    assert hl_subsample_size(200_000) == 5000


# --- DeLong --------------------------------------------------------------------------------


def _mann_whitney_auc(bad: np.ndarray, good: np.ndarray) -> float:
    ranks = stats.rankdata(np.concatenate([bad, good]))
    return (ranks[:bad.size].sum() - bad.size * (bad.size + 1) / 2) / (bad.size * good.size)


def _bootstrap_auc_differences(y, first, second, draws: int, seed: int) -> np.ndarray:
    """AUC(first) - AUC(second) on ``draws`` bootstrap resamples, defaulters and
    non-defaulters resampled separately (DeLong's variance is conditional on both counts)."""
    rng = np.random.default_rng(seed)
    bad, good = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    out = np.empty(draws)
    for i in range(draws):
        b, g = rng.choice(bad, bad.size), rng.choice(good, good.size)
        out[i] = (_mann_whitney_auc(first[b], first[g])
                  - _mann_whitney_auc(second[b], second[g]))
    return out


def test_delong_standard_error_of_two_correlated_aucs_matches_a_bootstrap():
    """Two models on the same 1,500 rows: DeLong's SE of the difference within 10% of the
    SD of 1,000 bootstrap differences (measured: 0.0132 vs 0.0135; one AUC 0.0194 vs
    0.0197)."""
    y, pd_true = _calibrated_sample(1500, seed=5)
    rng = np.random.default_rng(6)
    better = np.clip(pd_true + rng.normal(0, 0.02, y.size), 0, 1)
    worse = np.clip(pd_true + rng.normal(0, 0.06, y.size), 0, 1)
    _, _, difference, se = delong_difference(y, worse, better)
    boot = _bootstrap_auc_differences(y, worse, better, 1000, seed=7)
    assert se == pytest.approx(boot.std(ddof=1), rel=0.10)
    assert difference == pytest.approx(roc_auc(y, worse) - roc_auc(y, better))
    single_se = roc_auc_standard_error(y, better)
    low, high = roc_auc_interval(y, better)
    assert high - low == pytest.approx(2 * stats.norm.ppf(0.975) * single_se)


def test_the_gate_passes_the_same_ranking_and_refuses_a_clearly_worse_one():
    y, pd_true = _calibrated_sample(1000, seed=8)
    same = compare_aucs(y, pd_true, pd_true / 2, detect=0.02, power=0.8)
    assert same.se == 0 and same.decision == PASS and same.power == 1.0
    noise = np.random.default_rng(9).random(y.size)
    worse = compare_aucs(y, noise, pd_true, detect=0.02, power=0.8)
    assert worse.decision == REFUSE and worse.difference + 1.645 * worse.se < -0.01


# --- edge inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("flags,message", [
    (np.array([0, 1, np.nan, 0]), "1 of 4 default flags are missing"),
    (pd.Series([0, 1, None, 0], dtype="Int64"), "1 of 4 default flags are missing"),
    (np.array([0, 1, 2, 0]), "1 of 4 default flags are not 0 or 1"),
])
def test_missing_or_odd_flags_are_refused_with_the_count(flags, message):
    """Item 5: a missing flag was cast to -9.2e18 (observed default rate -9.2e16)."""
    with pytest.raises(PipelineError, match=message):
        metrics.pd_metrics(flags, np.array([0.1, 0.2, 0.3, 0.4]), 0.5)


@pytest.mark.parametrize("pds,message", [
    (np.array([0.1, np.nan, 0.3, 0.4]), "1 of 4 PDs are missing"),
    (np.array([-0.1, 0.2, 1.3, 0.4]), r"2 of 4 PDs lie outside \[0, 1\]"),
])
def test_missing_or_impossible_pds_are_refused_with_the_count(pds, message):
    with pytest.raises(PipelineError, match=message):
        metrics.pd_metrics(np.array([0, 1, 0, 1]), pds, 0.5)


@pytest.mark.parametrize("flag", [0, 1])
def test_single_class_sample_gives_not_defined_metrics_not_a_crash(flag):
    """Item 5: a holdout without defaults made the calibration fit raise."""
    pd_pred = _calibrated_sample(400, seed=9)[1]
    y = np.full(pd_pred.size, flag)
    result = metrics.pd_metrics(y, pd_pred, 0.5)
    reasons = metrics.not_defined(y, pd_pred)
    for name in ("roc_auc", "gini", "ks", "calibration_slope", "roc_auc_ci_lower"):
        assert np.isnan(result[name]) and name in reasons
    assert result["observed_default_rate"] == float(flag)
    assert np.isfinite(result["brier_score"]) and np.isfinite(result["log_loss"])
    assert reasons["roc_auc"] == ("the sample has no defaults" if flag == 0
                                  else "every loan defaulted")


def test_perfect_separation_has_no_slope_and_is_flagged():
    """Item 6: the slope was reported as 70.1 where no estimate exists."""
    y, pd_pred = _calibrated_sample(1000, seed=10)
    y = (pd_pred > 0.15).astype(int)
    result = metrics.pd_metrics(y, pd_pred, 0.5)
    assert result["perfect_separation"] == 1.0
    assert np.isnan(result["calibration_slope"]) and np.isnan(result["calibration_intercept"])
    assert "perfectly" in metrics.not_defined(y, pd_pred)["calibration_slope"]
    assert metrics.pd_metrics(*_calibrated_sample(1000, seed=10), 0.5)["perfect_separation"] == 0


def test_pds_are_floored_for_every_statistic():
    y = np.array([0, 0, 1, 0])
    floored = metrics.pd_metrics(y, np.array([0.0, 0.0001, 0.5, 0.2]), 0.5)
    assert floored["mean_pd"] == pytest.approx((2 * PD_FLOOR + 0.7) / 4)
    assert floor_pds(np.array([0.0, 0.01]), 0.001).tolist() == [0.001, 0.01]


def test_evaluating_on_a_holdout_without_defaults_gives_grey_lights_and_reasons(small_loans):
    """Item 5: a holdout with no defaults made the calibration fit raise and every metric
    fail. Now: no crash, the undefined metrics are NaN with a reason, their lights grey (which
    blocks promotion)."""
    from pd_lib.data.splits import split_data
    from pd_lib.modelling.factory import build_model
    from pd_lib.modelling.fitting import fit
    from pd_lib.validation.evaluation import evaluate
    from pd_lib.validation.figures import evaluation_figures

    samples = split_data(small_loans, 0.2, seed=1)
    model = fit(build_model("logistic_regression", {}, samples.train), samples.train)
    holdout = samples.holdout[samples.holdout["default"] == 0]
    evaluation = evaluate(model, samples.train, holdout, 0.5)
    with pytest.warns(UserWarning):  # scikit-learn's ROC curve of one class, in the plots
        evaluation_figures(evaluation, 0.5)
    assert np.isnan(evaluation.metrics["roc_auc"])
    assert evaluation.not_defined["roc_auc"] == "the sample has no defaults"
    assert "train_holdout_roc_auc_gap" in evaluation.not_defined
    grey = {li.metric for li in evaluation.lights if li.colour == "grey"}
    assert {"roc_auc", "calibration_in_the_large_relative"} <= grey
    assert {li.metric for li in lights.blocking_lights(evaluation.lights)} >= grey - {
        "train_holdout_roc_auc_gap"}


def test_ks_and_its_direction_in_the_bundle_match_the_single_functions():
    y, pd_pred = _calibrated_sample(800, seed=12)
    for p in (pd_pred, 1 - pd_pred):
        bundle = metrics.discrimination_metrics(y, p)
        assert bundle["ks"] == ks_statistic(y, p)
        assert bundle["ks_direction"] == ks_direction(y, p)
        assert bundle["ks"] == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic)


def test_master_scale_and_psi_are_invariant_to_row_order():
    from pd_lib.validation import master_scale

    y, pd_pred = _tied_book(2000, seed=5)
    table = master_scale.grade_table(y, pd_pred)
    reference = master_scale.master_scale_metrics(table, y, pd_pred)
    psi = population_stability_index(pd_pred[:1000], pd_pred[1000:])
    rng = np.random.default_rng(6)
    for _ in range(5):
        order = rng.permutation(y.size)
        shuffled = master_scale.grade_table(y[order], pd_pred[order])
        assert _same(master_scale.master_scale_metrics(shuffled, y[order], pd_pred[order]),
                     reference)
        reference_pds = pd_pred[:1000][rng.permutation(1000)]
        actual_pds = pd_pred[1000:][rng.permutation(1000)]
        assert population_stability_index(reference_pds, actual_pds) == psi


# --- issue 28: statistics refuse what they cannot compute ----------------------------------


def test_one_defaulter_makes_the_auc_comparison_not_computable_never_a_pass():
    rng = np.random.default_rng(0)
    y = np.zeros(500, dtype=int)
    y[7] = 1
    new, old = rng.uniform(0.01, 0.3, 500), rng.uniform(0.01, 0.3, 500)
    with pytest.raises(PipelineError, match="not computable with 1 defaulter"):
        compare_aucs(y, new, old, 0.02, 0.8)
    y[8] = 1  # two of each: the standard error exists again
    assert compare_aucs(y, new, old, 0.02, 0.8).se > 0


@pytest.mark.parametrize(("reference", "actual", "message"), [
    (np.arange(100.0), np.array([]), "actual sample is empty"),
    (np.full(100, np.nan), np.arange(100.0), "every value of the reference sample is missing"),
    (np.full(100, np.nan), np.full(50, np.nan), "every value of the reference sample"),
    (np.arange(100.0), np.full(50, np.nan), "every value of the actual sample is missing"),
])
def test_psi_refuses_an_empty_or_all_missing_side(reference, actual, message):

    with pytest.raises(PipelineError, match=message):
        population_stability_index(reference, actual)


def test_csi_refusals_name_the_characteristic():

    with pytest.raises(PipelineError, match="CSI of income: every value of the actual"):
        feature_counts(pd.Series(np.arange(50.0), name="income"),
                       pd.Series(np.full(20, np.nan), name="income"))
    with pytest.raises(PipelineError, match="CSI of purpose: a sample is empty"):
        feature_counts(pd.Series(["car", "tv"], name="purpose"),
                       pd.Series([], dtype=object, name="purpose"))


def test_one_empty_bin_adds_what_the_haldane_anscombe_correction_gives():
    """Issue 28: the 1e-4 floor made one empty reference bin of 10% add 0.690 on its own,
    whatever the sample size, and a new 5% bin 0.310. Now 0.5 is added to every used bin's
    count in both samples (Haldane 1956, Anscombe 1956), so shares still sum to one and what
    an empty bin adds grows with the evidence (the sample size), finitely."""

    reference = np.full(10, 200.0)  # 2,000 loans, 10% per bin
    actual = np.full(10, 200.0)
    actual[3], actual[4] = 0.0, 400.0  # one bin empties into its neighbour
    r, a = (reference + 0.5) / 2005, (actual + 0.5) / 2005
    contributions = (a - r) * np.log(a / r)
    assert psi_from_counts(reference, actual) == pytest.approx(contributions.sum(), rel=1e-12)
    empty_bin = contributions[3]
    assert empty_bin == pytest.approx((0.5 - 200.5) / 2005 * np.log(0.5 / 200.5))
    assert 0.59 < empty_bin < 0.60  # the old floor: (1e-4 - 0.1) ln(1e-4 / 0.1) = 0.690
    # ten times the loans: stronger evidence that the bin really emptied, still finite
    assert 0.59 < psi_from_counts(reference, actual) < psi_from_counts(10 * reference,
                                                                         10 * actual) < 1.2


def test_a_bin_empty_in_both_samples_adds_nothing():

    used = psi_from_counts(np.array([30.0, 70.0]), np.array([60.0, 40.0]))
    assert psi_from_counts(np.array([30.0, 0.0, 70.0]), np.array([60.0, 0.0, 40.0])) == used
