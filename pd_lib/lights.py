"""Traffic lights: each validation check green, amber or red, by config.LIGHT_THRESHOLDS.

The thresholds live in one place (``pd_lib.config``); the report prints them next to each
light and the promotion gate refuses red lights in config.GATE_BLOCKING_CATEGORIES.
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


def threshold_text(rule: Mapping[str, Any]) -> str:
    """The thresholds in words, e.g. 'green <= 0.1 / amber 0.1-0.25 / red > 0.25'."""
    green, red = rule["green"], rule["red"]
    if rule["direction"] == "higher":
        return f"green >= {green:g} / amber {red:g}-{green:g} / red < {red:g}"
    bar = "|x| " if rule["direction"] == "abs" else ""
    return f"green {bar}<= {green:g} / amber {green:g}-{red:g} / red {bar}> {red:g}"


def traffic_lights(
    metrics: Mapping[str, float], thresholds: Mapping[str, Mapping[str, Any]] = LIGHT_THRESHOLDS
) -> list[Light]:
    """One Light per check whose metric is in ``metrics`` (others, e.g. out-of-time checks
    on a random split, are left out), in the order of ``thresholds``."""
    lights = []
    for check, rule in thresholds.items():
        if rule["metric"] not in metrics:
            continue
        value = float(metrics[rule["metric"]])
        lights.append(Light(check, rule["metric"], value, colour_of(value, rule),
                            threshold_text(rule), rule["category"]))
    return lights


def blocking_lights(
    lights: list[Light], categories: tuple[str, ...] = GATE_BLOCKING_CATEGORIES
) -> list[Light]:
    """The red lights in the categories that stop a promotion."""
    return [light for light in lights if light.colour == RED and light.category in categories]


def lights_csv(lights: list[Light]) -> str:
    """The lights as CSV text (check, metric, value, colour, thresholds, category)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["check", "metric", "value", "colour", "thresholds", "category"])
    for li in lights:
        writer.writerow([li.check, li.metric, repr(li.value), li.colour, li.thresholds,
                         li.category])
    return buffer.getvalue()
