"""PD metrics against independent calculations and known cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from pd_lib.config import HL_SUBSAMPLE_LOANS
from pd_lib.probability import logit
from pd_lib.validation import metrics
from pd_lib.validation.calibration import (
    brier_score,
    calibration_in_the_large,
    calibration_slope_intercept,
    expected_calibration_error,
    hosmer_lemeshow,
    hosmer_lemeshow_subsample_reject_share,
    logarithmic_loss,
    subsample_rows,
)
from pd_lib.validation.decisions import threshold_metrics
from pd_lib.validation.discrimination import (
    SCORE_BINS,
    gini,
    histogram_discrimination,
    ks_direction,
    ks_statistic,
    roc_auc,
    score_bins,
    score_histogram,
)
from pd_lib.validation.inputs import floor_pds
from pd_lib.validation.oracle import oracle_metrics, slope_vs_true_pd
from pd_lib.validation.stability import (
    categorical_stability_index,
    characteristic_stability,
    population_stability_index,
    stability_metrics,
)


def _calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """PDs from a Beta distribution and flags drawn from exactly those PDs."""
    rng = np.random.default_rng(seed)
    pd_true = rng.beta(1.2, 10.0, n)
    return rng.binomial(1, pd_true), pd_true


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# --- discrimination ------------------------------------------------------------------------


def test_perfect_ranking_has_auc_one_gini_one_and_ks_one():
    y = np.array([0, 0, 0, 1, 1])
    pd_pred = np.array([0.01, 0.02, 0.03, 0.5, 0.9])
    assert roc_auc(y, pd_pred) == 1.0
    assert gini(y, pd_pred) == 1.0
    assert ks_statistic(y, pd_pred) == 1.0


def test_reversed_ranking_has_auc_zero_and_a_full_ks_pointing_the_wrong_way():
    """KS is two-sided (issue 17): an inverted ranking separates the classes fully, and the
    direction says it is the wrong way round (it used to score 0, like no ranking at all)."""
    y = np.array([1, 1, 0, 0])
    pd_pred = np.array([0.1, 0.2, 0.3, 0.4])
    assert roc_auc(y, pd_pred) == 0.0
    assert ks_statistic(y, pd_pred) == 1.0
    assert ks_direction(y, pd_pred) == -1.0
    assert ks_direction(1 - y, pd_pred) == 1.0


def test_ks_equals_scipy_two_sample_statistic():
    y, pd_pred = _calibrated_sample(3000, seed=1)
    expected = stats.ks_2samp(pd_pred[y == 1], pd_pred[y == 0]).statistic
    assert ks_statistic(y, pd_pred) == pytest.approx(expected, abs=1e-12)


def test_auc_equals_mann_whitney_u_over_pairs():
    y, pd_pred = _calibrated_sample(2000, seed=2)
    u = stats.mannwhitneyu(pd_pred[y == 1], pd_pred[y == 0]).statistic
    assert roc_auc(y, pd_pred) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()))


# --- decisions -----------------------------------------------------------------------------


def test_threshold_metrics_count_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    pd_pred = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.5, 0.5])
    # predicted default (>= 0.5): rows 0, 1, 3, 6, 7 -> tp = rows 0, 1, 7; fp = rows 3, 6
    result = threshold_metrics(y, pd_pred, threshold=0.5)
    assert (result["true_positives"], result["false_positives"]) == (3, 2)
    assert (result["false_negatives"], result["true_negatives"]) == (1, 2)
    assert result["precision"] == pytest.approx(3 / 5)
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["f1"] == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    assert result["accuracy"] == pytest.approx(5 / 8)


def test_no_predicted_defaulter_gives_zero_precision_not_an_error():
    result = threshold_metrics(np.array([0, 1]), np.array([0.1, 0.2]), threshold=0.5)
    assert result["precision"] == 0.0 and result["recall"] == 0.0 and result["f1"] == 0.0


# --- calibration ---------------------------------------------------------------------------


def test_brier_and_log_loss_by_formula():
    y, pd_pred = _calibrated_sample(1000, seed=3)
    assert brier_score(y, pd_pred) == pytest.approx(np.mean((pd_pred - y) ** 2))
    expected = -np.mean(y * np.log(pd_pred) + (1 - y) * np.log(1 - pd_pred))
    assert logarithmic_loss(y, pd_pred) == pytest.approx(expected)


def test_log_loss_is_finite_for_pd_zero_on_a_defaulter():
    assert math.isfinite(logarithmic_loss(np.array([1, 0]), np.array([0.0, 0.0])))


def test_calibration_in_the_large_known_case():
    result = calibration_in_the_large(np.array([1, 0, 0, 0]), np.full(4, 0.2))
    assert result["mean_pd"] == pytest.approx(0.2)
    assert result["observed_default_rate"] == pytest.approx(0.25)
    assert result["calibration_in_the_large"] == pytest.approx(-0.05)
    assert result["calibration_in_the_large_relative"] == pytest.approx(-0.2)


def _newton_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unpenalised logistic regression of y on x by Newton-Raphson (independent of sklearn)."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (y - p)
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        beta += np.linalg.solve(hessian, gradient)
    return float(beta[1]), float(beta[0])


def test_calibration_slope_and_intercept_match_newton_raphson():
    rng = np.random.default_rng(4)
    pd_pred = rng.uniform(0.01, 0.6, 1500)
    y = rng.binomial(1, _sigmoid(0.7 * np.log(pd_pred / (1 - pd_pred)) + 0.3))
    slope, intercept = calibration_slope_intercept(y, pd_pred)
    expected_slope, expected_intercept = _newton_logistic(np.log(pd_pred / (1 - pd_pred)), y)
    assert slope == pytest.approx(expected_slope, abs=1e-4)
    assert intercept == pytest.approx(expected_intercept, abs=1e-4)


def test_calibration_slope_is_about_one_on_flags_drawn_from_the_pds():
    y, pd_pred = _calibrated_sample(20000, seed=5)
    slope, intercept = calibration_slope_intercept(y, pd_pred)
    assert slope == pytest.approx(1.0, abs=0.08)
    assert intercept == pytest.approx(0.0, abs=0.2)


def test_calibration_slope_is_about_half_when_pds_are_twice_as_extreme():
    y, pd_true = _calibrated_sample(20000, seed=6)
    too_extreme = _sigmoid(2.0 * np.log(pd_true / (1 - pd_true)))
    slope, _ = calibration_slope_intercept(y, too_extreme)
    assert slope == pytest.approx(0.5, abs=0.05)


def test_expected_calibration_error_known_cases():
    # constant PD 0.2, observed rate 0.1 everywhere -> |0.2 - 0.1| in every bin
    y = np.array([1] + [0] * 9)
    assert expected_calibration_error(y, np.full(10, 0.2), n_bins=2) == pytest.approx(0.1)
    # two bins, each exactly calibrated -> 0
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    pd_pred = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert expected_calibration_error(y, pd_pred, n_bins=2) == pytest.approx(0.0)


def test_hosmer_lemeshow_by_hand_on_two_groups():
    y = np.array([0, 0, 1, 0, 1, 1])
    pd_pred = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    # groups by ascending PD: {0.1, 0.2, 0.3} and {0.6, 0.7, 0.8}
    expected_stat = (1 - 0.6) ** 2 / (0.6 * (1 - 0.6 / 3)) + (2 - 2.1) ** 2 / (2.1 * (1 - 2.1 / 3))
    stat, pvalue = hosmer_lemeshow(y, pd_pred, n_groups=2, min_expected=0)
    assert stat == pytest.approx(expected_stat)
    assert pvalue == pytest.approx(stats.chi2.sf(expected_stat, 2))


def test_hosmer_lemeshow_p_value_not_small_on_calibrated_data():
    pvalues = [hosmer_lemeshow(*_calibrated_sample(5000, seed=s))[1]
               for s in range(7, 12)]
    assert np.median(pvalues) > 0.05


def test_hosmer_lemeshow_p_value_tiny_when_pds_are_halved():
    y, pd_pred = _calibrated_sample(5000, seed=7)
    assert hosmer_lemeshow(y, pd_pred / 2)[1] < 1e-6


def test_hosmer_lemeshow_rejects_calibrated_samples_about_five_percent_of_the_time():
    """Under the null, p-values are roughly uniform: ~5% of them below 0.05."""
    rejected = [hosmer_lemeshow(*_calibrated_sample(600, seed=s))[1] < 0.05
                for s in range(300)]
    assert 0.02 <= np.mean(rejected) <= 0.10


# --- Hosmer-Lemeshow on subsamples of a large sample (Bartley 2014) -------------------------


def test_subsample_rows_are_distinct_sorted_and_seeded():
    rows = subsample_rows(1000, 100, 5, seed=3)
    assert len(rows) == 5
    for r in rows:
        assert r.size == 100 and np.unique(r).size == 100  # without replacement
        assert np.all(np.diff(r) > 0) and r[0] >= 0 and r[-1] < 1000
    assert not np.array_equal(rows[0], rows[1])
    again = subsample_rows(1000, 100, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(rows, again, strict=True))
    other = subsample_rows(1000, 100, 5, seed=4)
    assert not any(np.array_equal(a, b) for a, b in zip(rows, other, strict=True))


def test_subsample_rows_must_be_fewer_than_the_sample():
    with pytest.raises(ValueError, match=r"size must be between 1 and n - 1 = 99; got 100\."):
        subsample_rows(100, 100, 5, seed=0)


def test_subsample_reject_share_is_small_on_calibrated_pds():
    """Flags drawn from the PDs: about 5% of 5,000-loan subsamples reject, at most Bartley's
    10%, although each sample has 20,000 loans."""
    shares = [hosmer_lemeshow_subsample_reject_share(*_calibrated_sample(20_000, s))
              for s in range(3)]
    assert all(share <= 0.10 for share in shares), shares


def test_subsample_reject_share_is_about_one_when_pds_are_scaled_by_1_3():
    y, pd_pred = _calibrated_sample(20_000, seed=21)
    assert hosmer_lemeshow_subsample_reject_share(y, 1.3 * pd_pred) >= 0.95


def _too_extreme(pd_pred: np.ndarray, factor: float) -> np.ndarray:
    """PDs with the logit stretched by ``factor``, shifted back to the same mean PD."""
    z = factor * logit(pd_pred)
    shift = optimize.brentq(lambda b: _sigmoid(z + b).mean() - pd_pred.mean(), -10, 10)
    return _sigmoid(z + shift)


def test_subsample_reject_share_tolerates_a_misfit_only_the_full_sample_detects():
    """PDs slightly too extreme: the 20,000-loan test rejects them, most 5,000-loan
    subsamples do not."""
    y, pd_pred = _calibrated_sample(20_000, seed=1)
    mild = _too_extreme(pd_pred, 1.2)
    assert hosmer_lemeshow(y, mild)[1] < 0.001
    assert 0.10 < hosmer_lemeshow_subsample_reject_share(y, mild) < 0.5


def test_subsample_reject_share_is_reproducible_and_depends_on_the_seed():
    y, pd_pred = _calibrated_sample(20_000, seed=1)
    mild = _too_extreme(pd_pred, 1.2)
    share = hosmer_lemeshow_subsample_reject_share(y, mild)
    assert hosmer_lemeshow_subsample_reject_share(y.copy(), mild.copy()) == share
    seeded = {hosmer_lemeshow_subsample_reject_share(y, mild, seed=s) for s in range(5)}
    assert len(seeded) > 1


# --- stability -----------------------------------------------------------------------------


def test_psi_of_a_sample_against_itself_is_zero():
    values = np.random.default_rng(8).normal(size=1000)
    assert population_stability_index(values, values) == 0.0


def test_psi_matches_the_formula_on_explicit_bins():
    reference = np.arange(1, 101, dtype=float)  # deciles at 10.9, 20.8, ...
    actual = np.concatenate([np.full(50, 5.0), np.full(50, 95.0)])  # first and last decile
    # counts plus the pseudo-count 0.5 in each of the ten bins (no missing values: no bin)
    ref_share = np.full(10, 10.5) / 105
    act_share = np.array([50.5] + [0.5] * 8 + [50.5]) / 105
    expected = np.sum((act_share - ref_share) * np.log(act_share / ref_share))
    assert population_stability_index(reference, actual) == pytest.approx(expected)


def test_psi_grows_with_the_shift():
    rng = np.random.default_rng(9)
    reference = rng.normal(size=5000)
    small = population_stability_index(reference, rng.normal(0.1, 1, 5000))
    large = population_stability_index(reference, rng.normal(1.0, 1, 5000))
    assert small < 0.10 < 0.25 < large


def test_psi_counts_missing_values_as_a_bin():
    reference = np.array([1.0, 2.0, 3.0, 4.0] * 25)
    actual = reference.copy()
    actual[:50] = np.nan
    assert population_stability_index(reference, actual) > 0.25


def test_categorical_stability_index_known_case():
    reference = pd.Series(["A", "B"] * 50)
    actual = pd.Series(["A"] * 75 + ["B"] * 25)
    r, a = np.array([50.5, 50.5]) / 101, np.array([75.5, 25.5]) / 101  # plus 0.5 each
    assert categorical_stability_index(reference, actual) == pytest.approx(
        np.sum((a - r) * np.log(a / r)))
    assert categorical_stability_index(reference, reference) == 0.0


def test_characteristic_stability_handles_numeric_and_categorical_columns():
    frame = pd.DataFrame({"income": np.arange(200.0), "purpose": ["car", "home"] * 100})
    shifted = pd.DataFrame({"income": np.arange(200.0) + 150, "purpose": ["car"] * 200})
    same = characteristic_stability(frame, frame, ["income", "purpose"])
    assert same == {"income": 0.0, "purpose": 0.0}
    moved = characteristic_stability(frame, shifted, ["income", "purpose"])
    assert moved["income"] > 0.25 and moved["purpose"] > 0.25


def test_stability_metrics_names():
    frame = pd.DataFrame({"a b": [1.0, 2.0, 3.0, 4.0], "c": ["x", "y", "x", "y"]})
    result = stability_metrics(np.array([0.1, 0.2, 0.3, 0.4]),
                                       np.array([0.1, 0.2, 0.3, 0.4]), frame, frame, ["a b", "c"])
    assert set(result) == {"psi", "csi_a b", "csi_c", "csi_max"}


# --- oracle --------------------------------------------------------------------------------


def test_oracle_metrics_of_the_truth_itself():
    y, pd_true = _calibrated_sample(2000, seed=10)
    result = oracle_metrics(y, pd_true, pd_true)
    assert result["oracle_roc_auc"] == pytest.approx(roc_auc(y, pd_true))
    assert result["roc_auc_gap_to_oracle"] == 0.0
    assert result["pd_mae_vs_true_pd"] == 0.0
    doubled = oracle_metrics(y, np.minimum(2 * pd_true, 1.0), pd_true)
    assert doubled["pd_bias_vs_true_pd"] > 0
    assert doubled["roc_auc_gap_to_oracle"] == pytest.approx(0.0, abs=1e-12)  # same ranking
    assert result["calibration_slope_vs_true_pd"] == pytest.approx(1.0)
    assert result["oracle_calibration_slope"] == pytest.approx(
        calibration_slope_intercept(y, pd_true)[0])


def test_slope_against_the_true_pd_has_no_outcome_noise():
    rng = np.random.default_rng(3)
    truth = 1 / (1 + np.exp(-rng.normal(-2.5, 1.0, 5000)))
    logit = np.log(truth / (1 - truth))
    over_confident = 1 / (1 + np.exp(-(1.25 * logit + 0.4)))  # logit(true) = 0.8 logit - 0.32
    assert slope_vs_true_pd(over_confident, truth) == pytest.approx(0.8)
    assert np.isnan(slope_vs_true_pd(np.full(10, 0.1), truth[:10]))


# --- the bundle ----------------------------------------------------------------------------

PD_METRIC_NAMES = {
    "n_loans", "n_defaults", "roc_auc", "gini", "ks", "accuracy", "precision", "recall", "f1",
    "true_negatives", "false_positives", "false_negatives", "true_positives", "brier_score",
    "log_loss", "mean_pd", "observed_default_rate", "calibration_in_the_large",
    "calibration_in_the_large_relative", "calibration_slope", "calibration_intercept",
    "expected_calibration_error", "hosmer_lemeshow_stat", "hosmer_lemeshow_pvalue",
    "hosmer_lemeshow_groups", "roc_auc_se", "roc_auc_ci_lower", "roc_auc_ci_upper",
    "gini_ci_lower", "gini_ci_upper", "ks_direction", "perfect_separation",
}
ORACLE_NAMES = {"oracle_roc_auc", "oracle_gini", "roc_auc_gap_to_oracle", "pd_mae_vs_true_pd",
                "pd_bias_vs_true_pd", "oracle_calibration_slope", "calibration_slope_vs_true_pd"}


def test_pd_metrics_names_are_stable():
    y, pd_pred = _calibrated_sample(500, seed=11)
    assert set(metrics.pd_metrics(y, pd_pred, 0.5)) == PD_METRIC_NAMES
    with_truth = metrics.pd_metrics(y, pd_pred, 0.5, true_pd=pd_pred)
    assert set(with_truth) == PD_METRIC_NAMES | ORACLE_NAMES
    assert all(isinstance(v, float) for v in with_truth.values())


def test_pd_metrics_add_the_subsample_share_above_the_subsample_size():
    y, pd_pred = _calibrated_sample(HL_SUBSAMPLE_LOANS + 1, seed=12)
    with_share = metrics.pd_metrics(y, pd_pred, 0.5)
    assert set(with_share) == PD_METRIC_NAMES | {"hosmer_lemeshow_subsample_reject_share"}
    assert 0.0 <= with_share["hosmer_lemeshow_subsample_reject_share"] <= 1.0
    assert set(metrics.pd_metrics(y[:-1], pd_pred[:-1], 0.5)) == PD_METRIC_NAMES


def test_derived_metrics():
    derived = metrics.derived_metrics({"roc_auc": 0.80, "train_roc_auc": 0.95,
                                       "oot_roc_auc": 0.75})
    assert derived == pytest.approx({"train_holdout_roc_auc_gap": 0.15, "oot_roc_auc_drop": 0.05})
    assert metrics.derived_metrics({"roc_auc": 0.8}) == {}


# --- the AUC from a score histogram (issue 32) -------------------------------------------------


def _discrete_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Flags and PDs taking 40 distinct values, each in a score bin of its own."""
    rng = np.random.default_rng(seed)
    p = rng.choice(np.linspace(0.001, 0.6, 40), size=n)
    return (rng.uniform(size=n) < p).astype(int), p


def test_histogram_discrimination_is_exact_when_every_bin_holds_one_pd_value():
    y, p = _discrete_sample(3000, 3)
    assert np.unique(score_bins(p)).size == 40
    exact = metrics.discrimination_metrics(y, p)
    binned = histogram_discrimination(*score_histogram(y, p))
    for name, value in exact.items():
        assert binned[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name


def test_histogram_auc_and_ks_stay_within_their_stated_bounds():
    rng = np.random.default_rng(4)
    z = rng.normal(-2.5, 1.2, 20_000)
    p = floor_pds(1.0 / (1.0 + np.exp(-z)))
    y = (rng.uniform(size=p.size) < p).astype(int)
    exact = metrics.discrimination_metrics(y, p)
    for n_bins in (SCORE_BINS, 64, 4):  # fine, coarse, and nearly no ranking left
        binned = histogram_discrimination(*score_histogram(y, p, n_bins))
        assert abs(binned["roc_auc"] - exact["roc_auc"]) <= binned["roc_auc_error_bound"]
        assert abs(binned["ks"] - exact["ks"]) <= binned["ks_error_bound"] + 1e-15
    fine = histogram_discrimination(*score_histogram(y, p))
    assert fine["roc_auc_error_bound"] < 2e-5  # what docs/validation.md states
    assert fine["roc_auc_se"] == pytest.approx(exact["roc_auc_se"], rel=1e-3)
    coarse = histogram_discrimination(*score_histogram(y, p, 4))
    assert abs(coarse["roc_auc"] - exact["roc_auc"]) > 0.01  # a bound that can bite


def test_histogram_discrimination_without_both_classes_is_not_defined():
    bad, good = score_histogram(np.zeros(10, dtype=int), np.full(10, 0.1))
    assert all(np.isnan(v) for v in histogram_discrimination(bad, good).values())


def test_score_bins_are_exact_at_powers_of_two_and_close_at_one():
    bins = score_bins(np.array([0.0, 0.25, 1.0, np.nextafter(0.25, 0.0)]), 4)
    assert bins.tolist() == [0, 2, 3, 1]
