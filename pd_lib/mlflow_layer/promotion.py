"""Promotion: move a version to a stage under the lock, through the gate for Production."""

from __future__ import annotations

import getpass
import logging

from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from pd_lib.config import REPORT_ARTIFACT
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.artifacts import run_uri
from pd_lib.mlflow_layer.gate import GateResult, champion_gate
from pd_lib.mlflow_layer.lock import promote_lock
from pd_lib.mlflow_layer.registry import (
    alias_holder,
    apply_stage,
    get_version,
    restore,
    snapshot,
)
from pd_lib.params import check_force, check_stage

log = logging.getLogger("pd_pipeline")


def promote(
    model_name: str,
    version: str | int | None,
    stage: str,
    force: bool = False,
    reason: str = "",
) -> ModelVersion:
    """Move a version to ``stage``; to Production only through the champion gate.

    A refused promotion raises PipelineError with one line per failed check and leaves the
    registry as it was. ``force`` with a ``reason`` overrides the gate; who and why are
    recorded as tags of the version.
    """
    stage = check_stage(stage)
    check_force(force, reason)
    target = get_version(model_name, version)
    with promote_lock(model_name):
        target = get_version(model_name, target.version)
        gate = GateResult([], {})
        if stage == "Production":
            gate = champion_gate(target, alias_holder(model_name, "champion"))
            if gate.failures and not force:
                raise PipelineError(
                    "\n".join([f"promotion of {model_name} version {target.version} to "
                               "Production refused (validation report: "
                               f"{run_uri(target.run_id, REPORT_ARTIFACT)}):"] + gate.failures)
                )
        stages, aliases = snapshot(model_name)
        try:
            apply_stage(target, stage)
            _record_promotion(target, stage, gate, force, reason)
        except Exception:
            log.error("promotion failed; restoring the registry as it was")
            restore(model_name, stages, aliases)
            raise
    log.info("%s version %s is now %s", model_name, target.version, stage)
    return get_version(model_name, target.version)


def _record_promotion(
    version: ModelVersion, stage: str, gate: GateResult, force: bool, reason: str
) -> None:
    client = MlflowClient()
    tags = dict(gate.comparison)
    if force:
        tags.update({
            "gate.forced": "true",
            "gate.forced_by": getpass.getuser(),
            "gate.forced_reason": reason,
            "gate.overridden_failures": " | ".join(gate.failures) or "none",
        })
    tags["promoted_to"] = stage
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)
