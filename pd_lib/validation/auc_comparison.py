"""Champion against challenger on the same holdout: DeLong's paired AUC difference and the
gate's three-way decision (pass, refuse, not enough evidence).

The rule (issue 28, chosen by the power analysis of ``benchmarks/gate_power.py``, its table
in docs/validation.md section 9): the gate must pass an equally good challenger and refuse
one ``detect`` (0.02) AUC worse, each at least ``power`` (80%) of the time. Deciding by the
estimated difference d against the midpoint -detect/2 gets both right with probability
Phi(detect / 2 / SE), so the holdout decides when its SE is at most
detect / (2 z_power). With a larger SE the gate still decides when the evidence is
conclusive (the one-sided ``CONCLUSIVE_LEVEL`` bound of d clear of the midpoint) and
otherwise says "not enough evidence", amber, with the numbers a user needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from pd_lib.errors import PipelineError
from pd_lib.validation.discrimination import delong_components
from pd_lib.validation.inputs import both_classes, check_flags, check_pds

PASS, REFUSE, UNDECIDED = "pass", "refuse", "not enough evidence"
# One-sided confidence with which a holdout too small for the power goal still decides.
CONCLUSIVE_LEVEL = 0.95


@dataclass(frozen=True)
class AucComparison:
    """The paired comparison of two models' PDs on one holdout, and the gate's decision."""

    auc_new: float
    auc_old: float
    difference: float  # auc_new - auc_old
    se: float  # DeLong's standard error of the difference
    cutoff: float  # -detect / 2: the challenger passes above it
    max_se: float  # the largest SE at which the point estimate decides
    power: float  # chance of the right decision at this SE, each way
    smallest_detectable: float  # the AUC loss this holdout catches with ``power``
    decision: str  # PASS, REFUSE or UNDECIDED


def delong_difference(y_true: np.ndarray, pd_new: np.ndarray, pd_old: np.ndarray
                      ) -> tuple[float, float, float, float]:
    """AUCs of the new and old PDs on the same rows, their difference and DeLong's standard
    error of it (DeLong, DeLong & Clarke-Pearson 1988: the covariance of the two models'
    structural components). Refuses a holdout with fewer than 2 defaulters or 2
    non-defaulters: the SE is not computable there, and an undefined SE is never a pass."""
    y = check_flags(y_true)
    new, old = check_pds(pd_new), check_pds(pd_old)
    if not both_classes(y):
        raise PipelineError("the holdout holds only one class, so no AUC can be compared.")
    defaults = int(y.sum())
    if min(defaults, y.size - defaults) < 2:
        raise PipelineError(
            f"DeLong's standard error is not computable with {defaults} defaulter(s) and "
            f"{y.size - defaults} non-defaulter(s) in the holdout (it needs 2 of each): "
            "compare on a larger holdout, or override with force and a reason.")
    auc_new, bad_new, good_new = delong_components(y, new)
    auc_old, bad_old, good_old = delong_components(y, old)
    var = (np.var(bad_new - bad_old, ddof=1) / bad_new.size
           + np.var(good_new - good_old, ddof=1) / good_new.size)
    return auc_new, auc_old, auc_new - auc_old, float(np.sqrt(max(var, 0.0)))


def largest_deciding_se(detect: float, power: float) -> float:
    """The SE up to which deciding at -detect/2 is right both ways with ``power``."""
    return detect / (2.0 * stats.norm.ppf(power))


def decide(difference: float, se: float, detect: float, power: float) -> str:
    """PASS, REFUSE or UNDECIDED for an estimated AUC difference and its SE (the rule of the
    module docstring)."""
    cutoff = -detect / 2.0
    if se <= largest_deciding_se(detect, power):
        return PASS if difference > cutoff else REFUSE
    z = stats.norm.ppf(CONCLUSIVE_LEVEL)
    if difference - z * se > cutoff:
        return PASS
    if difference + z * se < cutoff:
        return REFUSE
    return UNDECIDED


def compare_aucs(y_true: np.ndarray, pd_new: np.ndarray, pd_old: np.ndarray,
                 detect: float, power: float) -> AucComparison:
    """DeLong's paired comparison of ``pd_new`` (challenger) with ``pd_old`` (champion) and
    the gate's decision on it."""
    auc_new, auc_old, difference, se = delong_difference(y_true, pd_new, pd_old)
    z_power = stats.norm.ppf(power)
    return AucComparison(
        auc_new=auc_new, auc_old=auc_old, difference=difference, se=se, cutoff=-detect / 2.0,
        max_se=largest_deciding_se(detect, power),
        power=float(stats.norm.cdf(detect / 2.0 / se)) if se > 0 else 1.0,
        smallest_detectable=float(2.0 * z_power * se),
        decision=decide(difference, se, detect, power),
    )
