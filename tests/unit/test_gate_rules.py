"""The gate's and main's decisions without a store (pd_lib.validation.gate_rules): which
lights fail a version, how an AUC comparison reads, which candidate main registers."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from pd_lib.validation.auc_comparison import PASS, REFUSE, UNDECIDED
from pd_lib.validation.gate_rules import auc_judgement, candidate_choice, light_failures

GREEN = {"roc_auc": 0.78, "calibration_in_the_large_relative": 0.01,
         "jeffreys_pvalue_portfolio": 0.4, "jeffreys_pvalue_grades_holm": 0.3, "csi_max": 0.02,
         "log_loss": 0.30}


def test_a_green_version_has_no_failure_and_its_counts_as_tags():
    failures, tags = light_failures("3", "run-a", GREEN)
    assert failures == []
    assert tags["gate.red_lights"] == "none" and tags["gate.lights"].startswith("5 green")


def test_red_and_grey_blocking_lights_fail_each_in_one_line():
    failures, tags = light_failures("3", "run-a", {**GREEN, "csi_max": 0.4,
                                                   "jeffreys_pvalue_portfolio": float("nan")})
    assert len(failures) == 2
    assert any(f.startswith("red stability light for version 3:") for f in failures)
    assert any(f.startswith("grey calibration light for version 3:") for f in failures)
    assert tags["gate.red_lights"] == "csi_max"
    assert tags["gate.grey_lights"] == "jeffreys_pvalue_portfolio"


def test_a_run_with_only_an_auc_is_not_validated():
    failures, tags = light_failures("1", "run-old", {"roc_auc": 0.9})
    assert failures == ["version 1's run run-old logged no calibration or stability metrics "
                        "to judge it by; train or tune it again with this code"]
    assert tags == {"gate.lights": "none logged"}


def _holdout(n: int, seed: int, noise: tuple[float, float]) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    logit = rng.normal(-2.0, 1.2, n)
    y = (rng.uniform(size=n) < expit(logit)).astype(int)
    return (y, *(expit(logit + rng.normal(0, s, n)) for s in noise))


def test_the_same_pds_pass_and_say_so_in_tags():
    y, pds, _ = _holdout(4000, 1, (0.5, 0.5))
    failures, tags, auc = auc_judgement(y, pds, pds, "2", "1")
    assert failures == [] and auc.decision == PASS and tags["gate.auc_decision"] == PASS
    assert tags["gate.auc_difference"] == "0.000000"


def test_a_much_worse_challenger_on_many_loans_is_refused_naming_both_versions():
    y, good, bad = _holdout(20_000, 2, (0.3, 2.0))
    failures, _, auc = auc_judgement(y, bad, good, "5", "4")
    assert auc.decision == REFUSE
    assert failures == [failures[0]] and failures[0].startswith(
        "ROC AUC") and "version 5" in failures[0] and "champion version 4" in failures[0]


def test_a_holdout_too_small_is_amber_not_a_refusal():
    y, first, second = _holdout(300, 3, (1.0, 1.0))
    failures, _, auc = auc_judgement(y, first, second, "2", "1")
    assert auc.decision == UNDECIDED
    assert failures[0].startswith("not enough evidence (amber)") and "force=true" in failures[0]


def test_a_comparison_that_cannot_be_computed_fails():
    pds = np.full(50, 0.1)
    failures, tags, auc = auc_judgement(np.zeros(50, dtype=int), pds, pds, "2", "1")
    assert auc is None and tags == {}
    assert failures[0].startswith("AUC comparison with champion version 1 not computable")


def test_main_registers_the_passing_candidate_with_the_lowest_log_loss():
    chosen, blocking = candidate_choice({"train": {**GREEN, "log_loss": 0.31},
                                         "tune": {**GREEN, "log_loss": 0.29}})
    assert chosen == "tune" and blocking == {"train": [], "tune": []}
    chosen, blocking = candidate_choice({"train": {**GREEN, "log_loss": 0.31},
                                         "tune": {**GREEN, "log_loss": 0.20, "csi_max": 0.5}})
    assert chosen == "train"  # a red blocking light outweighs any log loss
    assert [li.metric for li in blocking["tune"]] == ["csi_max"]


def test_no_passing_candidate_is_none_with_every_blocking_light():
    chosen, blocking = candidate_choice({"train": {**GREEN, "csi_max": 0.5},
                                         "tune": {**GREEN, "calibration_in_the_large_relative":
                                                  -0.5}})
    assert chosen is None
    assert {run: [li.metric for li in lights] for run, lights in blocking.items()} == {
        "train": ["csi_max"], "tune": ["calibration_in_the_large_relative"]}
