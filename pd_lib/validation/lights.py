"""Traffic lights: each validation check green, amber or red, by config.LIGHT_THRESHOLDS.

The thresholds live in one place (``pd_lib.config``); the report prints them next to each
light and the promotion gate refuses red lights in config.GATE_BLOCKING_CATEGORIES.

A rule may hold for some sample sizes only: ``"loans": (low, high)`` applies it when
low < n_loans <= high (a significance test's p-value means something else at 500 loans than
at 500,000). A rule without it applies at every size.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pd_lib.config import GATE_BLOCKING_CATEGORIES, LIGHT_THRESHOLDS

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
DIRECTIONS = ("higher", "lower", "abs")


@dataclass(frozen=True)
class Light:
    """One check: what it reads, the value, its colour and the thresholds as text."""

    check: str
    metric: str
    value: float
    colour: str
    thresholds: str
    category: str
    applies: str = "every sample size"


def colour_of(value: float, rule: Mapping[str, Any]) -> str:
    """green / amber / red for ``value`` under ``rule`` (grey when the value is NaN)."""
    if value is None or math.isnan(value):
        return GREY
    direction, green, red = rule["direction"], rule["green"], rule["red"]
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}; got {direction!r}.")
    if direction == "higher":
        return GREEN if value >= green else RED if value < red else AMBER
    if direction == "abs":
        value = abs(value)
    return GREEN if value <= green else RED if value > red else AMBER


def size_text(rule: Mapping[str, Any]) -> str:
    """The sample sizes a rule is for, e.g. 'more than 5,000 loans' ('' for every size)."""
    if "loans" not in rule:
        return ""
    low, high = rule["loans"]
    if math.isinf(high):
        return f"more than {low:,} loans"
    return f"at most {high:,} loans" if low == 0 else f"more than {low:,}, at most {high:,} loans"


def threshold_text(rule: Mapping[str, Any]) -> str:
    """The thresholds in words, e.g. 'green <= 0.1 / amber 0.1-0.25 / red > 0.25', with the
    sample sizes the rule is for, if it is not for all."""
    green, red = rule["green"], rule["red"]
    if rule["direction"] == "higher":
        text = f"green >= {green:g} / amber {red:g}-{green:g} / red < {red:g}"
    else:
        bar = "|x| " if rule["direction"] == "abs" else ""
        text = f"green {bar}<= {green:g} / amber {green:g}-{red:g} / red {bar}> {red:g}"
    return f"{text}; for samples of {size_text(rule)}" if "loans" in rule else text


def applies(rule: Mapping[str, Any], metrics: Mapping[str, float]) -> bool:
    """Whether ``rule`` is for a sample of metrics["n_loans"] loans; a rule limited to some
    sizes still applies when the size was not logged, so that no light goes unseen."""
    if "loans" not in rule or "n_loans" not in metrics:
        return True
    low, high = rule["loans"]
    return low < float(metrics["n_loans"]) <= high


def applies_text(rule: Mapping[str, Any], metrics: Mapping[str, float]) -> str:
    """Why ``rule`` was (or was not) read for this sample, e.g. '20,000 loans; rule for more
    than 5,000 loans'."""
    if "loans" not in rule:
        return "every sample size"
    if "n_loans" not in metrics:
        return f"sample size not logged; rule for {size_text(rule)}"
    return f"{float(metrics['n_loans']):,.0f} loans; rule for {size_text(rule)}"


def traffic_lights(
    metrics: Mapping[str, float], thresholds: Mapping[str, Mapping[str, Any]] = LIGHT_THRESHOLDS
) -> list[Light]:
    """One Light per check whose metric is in ``metrics`` and whose rule is for this sample
    size (others, e.g. out-of-time checks on a random split, are left out), in the order of
    ``thresholds``."""
    lights = []
    for check, rule in thresholds.items():
        if rule["metric"] not in metrics or not applies(rule, metrics):
            continue
        value = float(metrics[rule["metric"]])
        lights.append(Light(check, rule["metric"], value, colour_of(value, rule),
                            threshold_text(rule), rule["category"],
                            applies_text(rule, metrics)))
    return lights


def not_applied(
    metrics: Mapping[str, float], thresholds: Mapping[str, Mapping[str, Any]] = LIGHT_THRESHOLDS
) -> list[tuple[str, float, str]]:
    """(check, value, why) of the checks whose metric was logged but whose rule is for
    other sample sizes: no light, but the report says why."""
    return [(check, float(metrics[rule["metric"]]), applies_text(rule, metrics))
            for check, rule in thresholds.items()
            if rule["metric"] in metrics and not applies(rule, metrics)]


def blocking_lights(
    lights: list[Light], categories: tuple[str, ...] = GATE_BLOCKING_CATEGORIES
) -> list[Light]:
    """The lights that stop a promotion: red or grey (NaN, not computable) in ``categories``."""
    return [light for light in lights
            if light.colour in (RED, GREY) and light.category in categories]


def light_counts(lights: list[Light], empty: str = "none") -> str:
    """"5 green, 1 amber": how many lights of each colour there are (colours with none left
    out), or ``empty`` without lights."""
    return ", ".join(f"{sum(li.colour == c for li in lights)} {c}"
                     for c in (GREEN, AMBER, RED, GREY)
                     if any(li.colour == c for li in lights)) or empty


def lights_csv(lights: list[Light]) -> str:
    """The lights as CSV text (check, metric, value, colour, thresholds, category, applies)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["check", "metric", "value", "colour", "thresholds", "category", "applies"])
    for li in lights:
        writer.writerow([li.check, li.metric, repr(li.value), li.colour, li.thresholds,
                         li.category, li.applies])
    return buffer.getvalue()
