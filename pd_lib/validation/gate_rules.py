"""The champion gate's and main's candidate decisions, pure: metrics, lights and PDs in,
failure lines, tags and a choice out. pd_lib.mlflow_layer.governance.gate and
runner.pipeline read the store and call these; tests/unit/test_gate_rules.py judges them
without one."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pd_lib.config import GATE_AUC_DETECT, GATE_AUC_POWER, GATE_BLOCKING_CATEGORIES
from pd_lib.errors import PipelineError
from pd_lib.validation.auc_comparison import (
    REFUSE,
    UNDECIDED,
    AucComparison,
    compare_aucs,
    largest_deciding_se,
)
from pd_lib.validation.lights import Light, blocking_lights, traffic_lights


def light_failures(version: str, run_id: str, metrics: Mapping[str, float]
                   ) -> tuple[list[str], dict[str, str]]:
    """Failure lines for a version's red or grey blocking lights (from its run's metrics),
    and summary tags; a run with no calibration or stability metric fails on that alone."""
    found = traffic_lights(metrics)
    # roc_auc alone (logged since the first version) is no validation to judge by
    if not any(li.category in GATE_BLOCKING_CATEGORIES and li.category != "discrimination"
               for li in found):
        return [
            f"version {version}'s run {run_id} logged no calibration or stability metrics to "
            "judge it by; train or tune it again with this code"
        ], {"gate.lights": "none logged"}
    failures = [
        f"red {li.category} light for version {version}: {li.check} = {li.value:.4g} "
        f"(thresholds: {li.thresholds})" if li.colour == "red" else
        f"grey {li.category} light for version {version}: {li.check} is not defined "
        "(NaN) on its holdout; a check that cannot be computed is not a pass"
        for li in blocking_lights(found)
    ]
    counts = ", ".join(f"{sum(li.colour == c for li in found)} {c}"
                       for c in ("green", "amber", "red"))
    tags = {"gate.lights": counts,
            "gate.red_lights": ", ".join(li.metric for li in found if li.colour == "red")
            or "none",
            "gate.grey_lights": ", ".join(li.metric for li in found if li.colour == "grey")
            or "none"}
    return failures, tags


def auc_judgement(y: np.ndarray, challenger_pd: np.ndarray, champion_pd: np.ndarray,
                  challenger: str, champion: str
                  ) -> tuple[list[str], dict[str, str], AucComparison | None]:
    """The challenger's AUC against the champion's on the same holdout: failure lines (none
    when it passes), tags, and the comparison (None when it cannot be computed, which fails:
    NaN PDs, one class, an SE not computable are never a pass)."""
    try:
        auc = compare_aucs(y, challenger_pd, champion_pd, GATE_AUC_DETECT, GATE_AUC_POWER)
    except PipelineError as exc:
        return [f"AUC comparison with champion version {champion} not computable: {exc}"], \
            {}, None
    line = auc_failure(auc, challenger, champion, len(y))
    return ([line] if line else []), auc_comparison_tags(auc), auc


def auc_rule() -> str:
    """The AUC comparison's rule in one line (tags, report, messages)."""
    return (f"passes above a difference of {-GATE_AUC_DETECT / 2:+.3f}; decides on the "
            f"difference when its SE is at most {max_se():.4f} (a loss of {GATE_AUC_DETECT} "
            f"caught, and an equal model passed, {GATE_AUC_POWER:.0%} of the time), with a "
            "larger SE only on conclusive evidence")


def max_se() -> float:
    """The largest SE at which the gate decides on the estimated difference."""
    return largest_deciding_se(GATE_AUC_DETECT, GATE_AUC_POWER)


def auc_failure(auc: AucComparison, challenger: str, champion: str, rows: int) -> str:
    """The failure line of a refused or undecided comparison ("" when it passed)."""
    numbers = (f"AUC {auc.auc_new:.4f} against {auc.auc_old:.4f}, difference "
               f"{auc.difference:+.4f}, DeLong SE {auc.se:.4f}")
    if auc.decision == REFUSE:
        return (f"ROC AUC {auc.auc_new:.4f} of version {challenger} is below champion version "
                f"{champion}'s {auc.auc_old:.4f} on the same holdout ({rows} rows) by more than "
                f"the gate allows: difference {auc.difference:+.4f} (DeLong SE {auc.se:.4f}) "
                f"is not above {auc.cutoff:+.3f}")
    if auc.decision == UNDECIDED:
        return (f"not enough evidence (amber) to compare version {challenger} with champion "
                f"version {champion} on {rows} holdout loans: {numbers}; this holdout detects "
                f"a loss of {auc.smallest_detectable:.3f} with {GATE_AUC_POWER:.0%} power, the "
                f"gate needs SE <= {auc.max_se:.4f} to detect {GATE_AUC_DETECT}. Validate on "
                "more holdout loans (-P test_size, a larger book or a time split), or a "
                "validator overrides: -P force=true -P reason='...'")
    return ""


def auc_comparison_tags(auc: AucComparison) -> dict[str, str]:
    """The AUC comparison as version tags."""
    return {"gate.challenger_roc_auc": f"{auc.auc_new:.6f}",
            "gate.champion_roc_auc": f"{auc.auc_old:.6f}",
            "gate.auc_difference": f"{auc.difference:.6f}",
            "gate.auc_difference_se": f"{auc.se:.6f}",
            "gate.auc_power": f"{auc.power:.4f}",
            "gate.auc_smallest_detectable": f"{auc.smallest_detectable:.6f}",
            "gate.auc_decision": auc.decision}


def candidate_choice(metrics: Mapping[str, Mapping[str, float]]
                     ) -> tuple[str | None, dict[str, list[Light]]]:
    """main's choice among candidate runs (id -> holdout metrics): among those with no red or
    grey light in a blocking category (the gate's own rule), the lowest holdout log loss
    (model=auto's criterion); None when none passes. Also each run's blocking lights."""
    blocking = {run: blocking_lights(traffic_lights(found)) for run, found in metrics.items()}
    passing = [run for run in metrics if not blocking[run]]
    if not passing:
        return None, blocking
    return min(passing, key=lambda run: metrics[run].get("log_loss", float("inf"))), blocking
