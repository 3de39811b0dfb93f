"""Traffic lights: colours at the thresholds, the config block, what blocks promotion."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from pd_lib.config import GATE_BLOCKING_CATEGORIES, HL_SUBSAMPLE_LOANS, LIGHT_THRESHOLDS
from pd_lib.validation import lights, metrics

PSI_RULE = {"metric": "psi", "category": "stability", "direction": "lower",
            "green": 0.10, "red": 0.25}
AUC_RULE = {"metric": "roc_auc", "category": "discrimination", "direction": "higher",
            "green": 0.70, "red": 0.60}
GAP_RULE = {"metric": "gap", "category": "calibration", "direction": "abs",
            "green": 0.10, "red": 0.25}


@pytest.mark.parametrize("value,colour", [(0.0, "green"), (0.10, "green"), (0.1001, "amber"),
                                          (0.25, "amber"), (0.2501, "red"), (3.0, "red")])
def test_lower_is_better(value, colour):
    assert lights.colour_of(value, PSI_RULE) == colour


@pytest.mark.parametrize("value,colour", [(0.95, "green"), (0.70, "green"), (0.65, "amber"),
                                          (0.60, "amber"), (0.59, "red")])
def test_higher_is_better(value, colour):
    assert lights.colour_of(value, AUC_RULE) == colour


@pytest.mark.parametrize("value,colour", [(-0.05, "green"), (0.05, "green"), (-0.2, "amber"),
                                          (-0.3, "red"), (0.3, "red")])
def test_absolute_value(value, colour):
    assert lights.colour_of(value, GAP_RULE) == colour


def test_nan_is_grey():
    assert lights.colour_of(float("nan"), PSI_RULE) == "grey"


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="direction must be one of"):
        lights.colour_of(0.1, {**PSI_RULE, "direction": "sideways"})


def test_threshold_text_names_the_bounds():
    assert lights.threshold_text(PSI_RULE) == "green <= 0.1 / amber 0.1-0.25 / red > 0.25"
    assert lights.threshold_text(AUC_RULE) == "green >= 0.7 / amber 0.6-0.7 / red < 0.6"
    assert lights.threshold_text(GAP_RULE) == "green |x| <= 0.1 / amber 0.1-0.25 / red |x| > 0.25"


def test_config_thresholds_are_consistent():
    """Every rule has a known direction, green on the good side of red, a known category."""
    assert set(GATE_BLOCKING_CATEGORIES) == {"discrimination", "calibration", "stability"}
    metrics_seen = set()
    for check, rule in LIGHT_THRESHOLDS.items():
        assert rule["direction"] in lights.DIRECTIONS, check
        assert rule["category"] in ("discrimination", "calibration", "stability",
                                    "overfitting"), check
        if rule["direction"] == "higher":
            assert rule["green"] > rule["red"], check
        else:
            assert rule["green"] < rule["red"], check
        metrics_seen.add(rule["metric"])
    assert len(metrics_seen) == len(LIGHT_THRESHOLDS)  # one check per metric
    assert {"psi", "roc_auc", "hosmer_lemeshow_pvalue", "hosmer_lemeshow_subsample_reject_share",
            "jeffreys_pvalue_portfolio",
            "calibration_in_the_large_relative", "train_holdout_roc_auc_gap",
            "oot_roc_auc_drop"} <= metrics_seen


def test_traffic_lights_skip_missing_metrics_and_keep_config_order():
    result = lights.traffic_lights({"psi": 0.3, "roc_auc": 0.65})
    assert [li.metric for li in result] == ["roc_auc", "psi"]
    assert [li.colour for li in result] == ["amber", "red"]
    assert result[1].thresholds == "green <= 0.1 / amber 0.1-0.25 / red > 0.25"


def test_red_and_grey_lights_in_blocking_categories_block():
    """Issue 17: a first version with AUC 0.52 became champion, and a NaN metric (grey)
    never blocked. Overfitting is still shown only."""
    result = lights.traffic_lights({"roc_auc": 0.55, "csi_max": 0.3, "psi": 0.4,
                                    "hosmer_lemeshow_pvalue": 0.02,
                                    "jeffreys_pvalue_portfolio": float("nan"),
                                    "train_holdout_roc_auc_gap": 0.5})
    blocking = lights.blocking_lights(result)
    assert [li.metric for li in blocking] == ["roc_auc", "jeffreys_pvalue_portfolio", "csi_max"]
    assert [li.colour for li in blocking] == ["red", "grey", "red"]


def test_calibration_in_the_large_is_judged_one_sided():
    """PDs too low are red; conservative PDs (30% too high) are green, shown not blocked."""
    colour = {v: lights.traffic_lights({"calibration_in_the_large_relative": v})[0].colour
              for v in (-0.30, -0.20, -0.05, 0.30, 1.0)}
    assert colour == {-0.30: "red", -0.20: "amber", -0.05: "green", 0.30: "green", 1.0: "green"}


def test_lights_csv_round_trips_values():
    text = lights.lights_csv(lights.traffic_lights({"psi": 0.123456789, "n_loans": 20000.0}))
    assert text.startswith("check,metric,value,colour")
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["metric"], row["colour"]) == ("psi", "amber")
    assert math.isclose(float(row["value"]), 0.123456789)
    assert row["applies"] == "every sample size"


# --- rules for some sample sizes: Hosmer-Lemeshow p-value up to 5,000 loans, share above ---

HL_PVALUE = "hosmer_lemeshow_pvalue"
HL_SHARE = "hosmer_lemeshow_subsample_reject_share"


def _hl_lights(n_loans: float) -> dict[str, lights.Light]:
    found = lights.traffic_lights({"n_loans": n_loans, HL_PVALUE: 1e-5, HL_SHARE: 0.41})
    return {li.metric: li for li in found}


@pytest.mark.parametrize("n_loans", [20, 1000, HL_SUBSAMPLE_LOANS])
def test_the_p_value_rule_judges_samples_up_to_the_subsample_size(n_loans):
    found = _hl_lights(n_loans)
    assert HL_SHARE not in found
    assert found[HL_PVALUE].colour == "red"
    assert found[HL_PVALUE].thresholds.endswith(f"for samples of at most {HL_SUBSAMPLE_LOANS:,} "
                                                "loans")
    assert found[HL_PVALUE].applies.startswith(f"{n_loans:,} loans")


@pytest.mark.parametrize("n_loans", [HL_SUBSAMPLE_LOANS + 1, 20000, 1e6])
def test_the_subsample_share_rule_judges_larger_samples(n_loans):
    found = _hl_lights(n_loans)
    assert HL_PVALUE not in found
    assert found[HL_SHARE].colour == "amber" and found[HL_SHARE].category == "calibration"
    assert found[HL_SHARE].thresholds == (
        f"green <= 0.1 / amber 0.1-0.9 / red > 0.9; for samples of more than "
        f"{HL_SUBSAMPLE_LOANS:,} loans")
    (check, value, why), = lights.not_applied({"n_loans": n_loans, HL_PVALUE: 1e-5,
                                                HL_SHARE: 0.41})
    assert (check, value) == ("Hosmer-Lemeshow p-value", 1e-5)
    assert why == f"{n_loans:,.0f} loans; rule for at most {HL_SUBSAMPLE_LOANS:,} loans"


def test_a_rule_for_some_sizes_applies_when_the_size_was_not_logged():
    found = lights.traffic_lights({HL_PVALUE: 1e-5})
    assert [li.colour for li in found] == ["red"]
    assert found[0].applies.startswith("sample size not logged")


def test_size_ranges_in_the_config_are_intervals_and_the_hl_rules_meet():
    ranges = {rule["metric"]: rule["loans"] for rule in LIGHT_THRESHOLDS.values()
              if "loans" in rule}
    assert all(0 <= low < high for low, high in ranges.values())
    assert ranges[HL_PVALUE] == (0, HL_SUBSAMPLE_LOANS)
    assert ranges[HL_SHARE] == (HL_SUBSAMPLE_LOANS, math.inf)


def test_pd_metrics_feed_the_rule_for_their_sample_size():
    """The rules read the names pd_metrics logs, on either side of the subsample size."""
    rng = np.random.default_rng(4)
    pd_true = rng.beta(1.2, 10.0, HL_SUBSAMPLE_LOANS + 1)
    y = rng.binomial(1, pd_true)
    for n, shown in ((HL_SUBSAMPLE_LOANS, HL_PVALUE), (HL_SUBSAMPLE_LOANS + 1, HL_SHARE)):
        found = lights.traffic_lights(metrics.pd_metrics(y[:n], pd_true[:n], 0.5))
        assert [li.metric for li in found if li.metric.startswith("hosmer")] == [shown]
