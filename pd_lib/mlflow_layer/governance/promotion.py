"""Promotion: move a version to a stage as one recoverable transaction under the lock.

1. Check the version's model loads and scores as logged (never overridable), then take the
   lock (:mod:`pd_lib.mlflow_layer.governance.lock`) and finish any promotion a dead process left.
2. The champion gate, for Production.
3. Write the intent (tag ``promotion.intent`` on the lock: the version, the stage, the stages
   and aliases before, the tags to record) before the first registry write.
4. Apply stage and alias, record the tags, clear the intent, release the lock.

A process that dies anywhere in 3-4 leaves the intent on the lock; the next promote, or any
step that reads the champion (:func:`recover_abandoned_promotion`), takes the abandoned lock
over and completes the promotion (the gate had passed), or rolls it back when the version is
gone. So the registry always ends with the old or the new champion, never a mix. A failure
the process survives (an error from the store) rolls back at once.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
from dataclasses import dataclass

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from pd_lib.checks import check_force, check_stage
from pd_lib.config import REPORT_ARTIFACT, STAGE_ALIASES
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import run_uri
from pd_lib.mlflow_layer.governance.gate import GateResult, champion_gate
from pd_lib.mlflow_layer.governance.gate_report import log_comparison_page, verdict_line
from pd_lib.mlflow_layer.governance.lock import INTENT_TAG, PromoteLock, promote_lock
from pd_lib.mlflow_layer.governance.model_check import check_version_loads
from pd_lib.mlflow_layer.governance.registry import (
    alias_holder,
    apply_stage,
    get_version,
    restore,
    snapshot,
)

log = logging.getLogger("pd_pipeline")

# Stages whose versions a promotion checks by loading their model first.
LOAD_CHECKED_STAGES = ("Production", "Staging")


@dataclass(frozen=True)
class Promotion:
    """What a promote did: the version after it, whether anything changed (promoting the
    current champion again changes nothing), and the gate's result (failures overridden by
    force, the comparison with the champion it replaced)."""

    version: ModelVersion
    changed: bool
    gate: GateResult


def promote(
    model_name: str,
    version: str | int | None,
    stage: str,
    force: bool = False,
    reason: str = "",
) -> Promotion:
    """Move a version to ``stage``; to Production only through the champion gate.

    A refused promotion raises PipelineError with one line per failed check and leaves the
    registry as it was. ``force`` with a ``reason`` overrides the gate (not a model that does
    not load); who and why are recorded as tags of the version. A version already in
    ``stage`` (and holding its alias) is a no-op success.
    """
    stage = check_stage(stage)
    check_force(force, reason)
    target = get_version(model_name, version)
    if stage in LOAD_CHECKED_STAGES:
        check_version_loads(target)
    with promote_lock(model_name) as lock:
        finish_pending(lock)
        target = get_version(model_name, target.version)
        if already_in_stage(target, stage):
            log.info("%s version %s is already %s; nothing to change", model_name,
                     target.version, stage)
            return Promotion(target, False, GateResult([], {}))
        gate = GateResult([], {})
        if stage == "Production":
            champion = alias_holder(model_name, "champion")
            gate = champion_gate(target, champion)
            page = log_comparison_page(target, champion, gate,
                                       verdict_line(target, champion, gate, force, reason))
            if gate.failures and not force:
                outcome = ("not decided, not enough evidence" if gate.undecided
                           else "refused")
                raise PipelineError(
                    "\n".join([f"promotion of {model_name} version {target.version} to "
                               f"Production {outcome} (validation report: "
                               f"{run_uri(target.run_id, REPORT_ARTIFACT)}"
                               + (f"; side by side with the champion: {page}" if page else "")
                               + "):"] + gate.failures)
                )
        lock.renew()
        intent = _intent(target, stage, _promotion_tags(gate, stage, force, reason))
        lock.writer.set_model_tag(lock.name, INTENT_TAG, json.dumps(intent))
        try:
            _apply(intent, lock)
        except Exception as exc:
            _roll_back(intent, lock, exc)
            raise
        lock.writer.delete_model_tag(lock.name, INTENT_TAG)
    log.info("%s version %s is now %s", model_name, target.version, stage)
    return Promotion(get_version(model_name, target.version), True, gate)


def already_in_stage(version: ModelVersion, stage: str) -> bool:
    """Whether ``version`` is in ``stage`` and holds the stage's alias (if it has one)."""
    alias = STAGE_ALIASES.get(stage)
    return version.current_stage == stage and (alias is None or alias in version.aliases)


def _intent(target: ModelVersion, stage: str, tags: dict[str, str]) -> dict:
    stages, aliases = snapshot(target.name)
    kept = {v: s for v, s in stages.items() if s != "None" or v == str(target.version)}
    return {"model": target.name, "version": str(target.version), "stage": stage,
            "before": {"stages": kept, "aliases": aliases}, "tags": tags}


def _promotion_tags(gate: GateResult, stage: str, force: bool, reason: str) -> dict[str, str]:
    tags = dict(gate.comparison)
    if force:
        tags.update({
            "gate.forced": "true",
            "gate.forced_by": getpass.getuser(),
            "gate.forced_reason": reason,
            "gate.overridden_failures": " | ".join(gate.failures) or "none",
        })
    tags["promoted_to"] = stage
    return tags


def _apply(intent: dict, lock: PromoteLock) -> None:
    """Stage and aliases (only the writes still missing), then the version's tags."""
    target = get_version(intent["model"], intent["version"])
    apply_stage(target, intent["stage"], lock.writer)
    for key, value in intent["tags"].items():
        lock.writer.set_version_tag(target.name, target.version, key, value)


def _roll_back(intent: dict, lock: PromoteLock, cause: Exception) -> None:
    """Put the registry back as the intent found it and clear the intent; if that fails
    too, leave the intent for the next promote (the lock's lease is ended on the way out)."""
    log.error("promotion failed (%s); restoring the registry as it was", first_line(cause))
    try:
        before = intent["before"]
        restore(intent["model"], before["stages"], before["aliases"], lock.writer)
        lock.writer.delete_model_tag(lock.name, INTENT_TAG)
    except Exception as exc:  # the store is failing: the next promote finishes the job
        log.error("could not restore the registry (%s); the next promote of %s will",
                  first_line(exc), intent["model"])


def finish_pending(lock: PromoteLock) -> None:
    """Complete the promotion an earlier holder of ``lock`` left unfinished (its intent is
    still on the lock), or roll it back if its version is gone; then clear the intent."""
    text = lock.tag(INTENT_TAG)
    if text is None:
        return
    try:
        intent = json.loads(text)
    except ValueError:
        log.warning("dropping an unreadable promotion intent on %s", lock.name)
        lock.writer.delete_model_tag(lock.name, INTENT_TAG)
        return
    log.warning("finishing the promotion of %s version %s to %s that an earlier promote "
                "left unfinished", intent["model"], intent["version"], intent["stage"])
    try:
        _apply(intent, lock)
    except (MlflowException, PipelineError) as exc:  # the version is gone: back to before
        log.warning("cannot finish it (%s); rolling it back", first_line(exc))
        before = intent["before"]
        restore(intent["model"], before["stages"], before["aliases"], lock.writer)
    lock.writer.delete_model_tag(lock.name, INTENT_TAG)


def recover_abandoned_promotion(model_name: str) -> None:
    """For steps that read the champion: if a dead promote left its lock (and maybe an
    intent) behind, take the lock over, finish or roll back, release. A live promote's lock
    is left alone. Costs one registry read when there is no lock."""
    lock = PromoteLock(model_name)
    with contextlib.suppress(MlflowException):
        if lock.read() is None or not lock.try_take_over():
            return
        try:
            finish_pending(lock)
        finally:
            lock.release()
