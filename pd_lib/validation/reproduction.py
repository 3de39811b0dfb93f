"""Is a rebuilt model the registered one? The comparison behind ``reproduce`` (issue 30).

Pure functions over the two runs' numbers: the data hashes, every holdout PD (same loans, same
order), every metric, and the chosen kind and calibration. The goal is equality; the only
tolerance is :data:`PD_TOLERANCE`, for sums whose floating-point order may change with the
thread count (scikit-learn's histogram boosting adds gradients in per-thread chunks).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from pd_lib.config import ID_COL, PD_COL

# A PD may differ by this much and still count as reproduced: rounding of sums whose order
# depends on the thread count, not a different model (a different model differs by far more).
PD_TOLERANCE = 1e-9
# Metrics are compared with the same tolerance; timings are not compared at all.
UNTIMED = ("seconds", "memory")


@dataclass
class Reproduction:
    """What a rebuild of a version showed, check by check. ``problems`` says, in words, every
    way it differed; reproduced when there is none."""

    model_name: str
    version: str
    original_run_id: str
    rebuilt_run_id: str = ""
    threads: str = ""
    data_sha256: str = ""
    rebuilt_data_sha256: str = ""
    holdout_loans: int = 0
    max_pd_difference: float = math.nan
    metrics_compared: int = 0
    max_metric_difference: float = math.nan
    differing_metrics: dict[str, list[float]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    date: str = ""

    @property
    def reproduced(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {**asdict(self), "reproduced": self.reproduced, "pd_tolerance": PD_TOLERANCE}


def pd_difference(original: pd.DataFrame, rebuilt: pd.DataFrame) -> tuple[float, str]:
    """The largest absolute PD difference over the same holdout loans, or NaN and why the two
    holdouts are not the same loans (count, or ids, in order)."""
    if len(original) != len(rebuilt):
        return math.nan, (f"the holdouts differ in size: {len(original):,} loans in the "
                          f"original, {len(rebuilt):,} rebuilt")
    if ID_COL in original.columns and ID_COL in rebuilt.columns:
        same = original[ID_COL].astype(str).to_numpy() == rebuilt[ID_COL].astype(str).to_numpy()
        if not same.all():
            return math.nan, (f"the holdouts hold different loans: {int((~same).sum()):,} of "
                              f"{len(original):,} ids differ in place")
    difference = np.abs(original[PD_COL].to_numpy(float) - rebuilt[PD_COL].to_numpy(float))
    return (float(difference.max()) if len(difference) else 0.0), ""


def metric_differences(original: Mapping[str, float], rebuilt: Mapping[str, float]
                       ) -> tuple[int, float, dict[str, list[float]]]:
    """(metrics compared, largest absolute difference, the metrics beyond the tolerance or
    present in only one run with both values). NaN equals NaN; timings are skipped."""
    names = sorted(n for n in set(original) | set(rebuilt)
                   if not any(word in n for word in UNTIMED))
    largest, differing = 0.0, {}
    for name in names:
        a, b = original.get(name, math.nan), rebuilt.get(name, math.nan)
        if (name not in original) or (name not in rebuilt):
            differing[name] = [a, b]
            continue
        if math.isnan(a) and math.isnan(b):
            continue
        gap = abs(a - b)
        if math.isnan(gap) or gap > PD_TOLERANCE:
            differing[name] = [a, b]
        if not math.isnan(gap):
            largest = max(largest, gap)
    return len(names), largest, differing


def choice_differences(original: Mapping[str, str], rebuilt: Mapping[str, str]
                       ) -> dict[str, list[str]]:
    """The choices (model kind, calibration, tuned values) that differ: name → [was, now]."""
    return {name: [original.get(name, ""), rebuilt.get(name, "")]
            for name in sorted(set(original) | set(rebuilt))
            if original.get(name, "") != rebuilt.get(name, "")}


def judge(result: Reproduction, pd_gap_reason: str = "") -> Reproduction:
    """Fill ``result.problems`` from its numbers: every check that failed, in words."""
    problems = []
    if result.rebuilt_data_sha256 != result.data_sha256:
        problems.append(f"the rebuilt data hash {result.rebuilt_data_sha256 or 'unknown'} is "
                        f"not the recorded {result.data_sha256 or 'unknown'}")
    if pd_gap_reason:
        problems.append(pd_gap_reason)
    elif not result.max_pd_difference <= PD_TOLERANCE:
        problems.append(f"holdout PDs differ by up to {result.max_pd_difference:.3g} "
                        f"(tolerance {PD_TOLERANCE:g})")
    for name, (was, now) in result.differing_metrics.items():
        problems.append(f"metric {name} was {was:.10g}, rebuilt {now:.10g}")
    for name, (was, now) in result.choices.items():
        problems.append(f"{name} was '{was}', rebuilt '{now}'")
    result.problems = problems
    return result


def reproduction_html(result: Reproduction, facts: Mapping[str, str]) -> str:
    """The reproduce run's page: the lineage used, the verdict and every check."""
    from pd_lib.validation.report_html import CSS, key_value_rows

    verdict = ("reproduced: the rebuilt model gives the same PDs on the same data"
               if result.reproduced else "NOT reproduced")
    checks = {
        "Rebuilt run": result.rebuilt_run_id or "none",
        "Threads (rebuilt)": result.threads or "unknown",
        "Data SHA-256 (recorded)": result.data_sha256 or "unknown",
        "Data SHA-256 (rebuilt)": result.rebuilt_data_sha256 or "not rebuilt",
        "Holdout loans compared": f"{result.holdout_loans:,}",
        "Largest |PD difference|": f"{result.max_pd_difference:.3g} "
                                   f"(tolerance {PD_TOLERANCE:g})",
        "Metrics compared": f"{result.metrics_compared}, largest difference "
                            f"{result.max_metric_difference:.3g}",
        "Choices that differ": ", ".join(result.choices) or "none",
    }
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in result.problems)
    title = f"Reproduction of {result.model_name} version {result.version}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="summary"><b>Verdict:</b> {html.escape(verdict)}</p>
{f"<ul>{problems}</ul>" if problems else ""}
<h2>Lineage used</h2>
<table class="meta">{key_value_rows(facts)}</table>
<h2>Checks</h2>
<table class="meta">{key_value_rows(checks)}</table>
<p class="note">The recorded commit was checked out into a temporary tree, its code
fingerprint checked against the version's, and generate and train (or tune) run again from
it with the recorded parameters and no reuse. PDs are compared loan by loan on the holdout.
</p>
</body></html>
"""
