"""Traffic lights: colours at the thresholds, the config block, what blocks promotion."""

from __future__ import annotations

import math

import pytest

from pd_lib import lights
from pd_lib.config import GATE_BLOCKING_CATEGORIES, LIGHT_THRESHOLDS

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
    assert set(GATE_BLOCKING_CATEGORIES) == {"calibration", "stability"}
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
    assert {"psi", "roc_auc", "hosmer_lemeshow_pvalue", "jeffreys_pvalue_portfolio",
            "calibration_in_the_large_relative", "train_holdout_roc_auc_gap",
            "oot_roc_auc_drop"} <= metrics_seen


def test_traffic_lights_skip_missing_metrics_and_keep_config_order():
    result = lights.traffic_lights({"psi": 0.3, "roc_auc": 0.65})
    assert [li.metric for li in result] == ["roc_auc", "psi"]
    assert [li.colour for li in result] == ["amber", "red"]
    assert result[1].thresholds == "green <= 0.1 / amber 0.1-0.25 / red > 0.25"


def test_only_red_lights_in_blocking_categories_block():
    result = lights.traffic_lights({"roc_auc": 0.55, "csi_max": 0.3, "psi": 0.4,
                                    "hosmer_lemeshow_pvalue": 0.02,
                                    "train_holdout_roc_auc_gap": 0.5})
    blocking = lights.blocking_lights(result)
    assert [li.metric for li in blocking] == ["csi_max"]  # red AUC / overfitting do not block


def test_lights_csv_round_trips_values():
    text = lights.lights_csv(lights.traffic_lights({"psi": 0.123456789}))
    header, row = text.strip().splitlines()
    assert header.startswith("check,metric,value,colour")
    assert "psi" in row and "0.123456789" in row and "amber" in row
    assert math.isclose(float(row.split(",")[-4]), 0.123456789)
