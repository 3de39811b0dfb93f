"""Model registry: register versions, keep stages and aliases in step, the promotion gate.

Aliases are MLflow's current way, stages what the tutorial teaches; we keep both:
``champion`` <-> Production, ``challenger`` <-> Staging, a dethroned champion -> Archived.
Every promotion happens under a registry-wide lock (see :func:`promote_lock`) and is rolled
back if any write fails, so two racing promotes never leave two Production versions and a
failed one never leaves the registry half-changed.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    GATE_AUC_MARGIN,
    GATE_BLOCKING_CATEGORIES,
    HOLDOUT_ARTIFACT,
    MODEL_ARTIFACT,
    PD_COL,
    REPORT_ARTIFACT,
    STAGE_ALIASES,
    STAGES,
    TAG_CODE_FINGERPRINT,
    TAG_DATA_SHA256,
    TAG_DATA_URI,
    TAG_GIT_COMMIT,
    TAG_HOLDOUT_AUC,
    TAG_SOURCE_RUN,
    TARGET_COL,
)
from pd_lib.errors import PipelineError
from pd_lib.lights import blocking_lights, traffic_lights
from pd_lib.metrics import roc_auc
from pd_lib.threads import limit_threads
from pd_lib.tracking import get_run, read_parquet_artifact, run_uri

log = logging.getLogger("pd_pipeline")

# Stages are deprecated in MLflow but are what the tutorial teaches; we keep them on purpose,
# in step with aliases, so their deprecation warning is noise here.
warnings.filterwarnings("ignore", category=FutureWarning, message=".*model_version_stage.*")
warnings.filterwarnings("ignore", category=FutureWarning, message=".*latest_versions.*")

LOCK_SUFFIX = ".promote-lock"
LOCK_WAIT_SECONDS = 120.0
LOCK_STALE_SECONDS = 600.0


def _error_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- registering ---------------------------------------------------------------------------


def register(run_id: str, model_name: str) -> ModelVersion:
    """Register the model of a train or tune run as a new version of ``model_name``.

    The version is created with its tags in one call: data URI and hash, git commit,
    code fingerprint and holdout AUC of the run.
    """
    run = get_run(run_id)
    model_uri = run_uri(run.info.run_id, MODEL_ARTIFACT)
    try:
        mlflow.models.get_model_info(model_uri)
    except (MlflowException, OSError):
        raise PipelineError(
            f"run {run.info.run_id} has no logged model '{MODEL_ARTIFACT}'; register a train "
            "or tune run (its id is in the step's log and in mlflow ui)."
        ) from None
    if run.info.status != "FINISHED":
        raise PipelineError(
            f"run {run.info.run_id} is {run.info.status}, not FINISHED; register a finished run."
        )
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    version_tags = {
        TAG_SOURCE_RUN: run.info.run_id,
        TAG_DATA_URI: params.get("resolved_data_uri", params.get("data_uri", "")),
        TAG_DATA_SHA256: tags.get(TAG_DATA_SHA256, ""),
        TAG_GIT_COMMIT: tags.get(TAG_GIT_COMMIT) or tags.get("mlflow.source.git.commit", ""),
        TAG_CODE_FINGERPRINT: tags.get(TAG_CODE_FINGERPRINT, ""),
        TAG_HOLDOUT_AUC: f"{metrics['roc_auc']:.6f}" if "roc_auc" in metrics else "",
    }
    version = mlflow.register_model(
        model_uri, model_name, tags={k: v for k, v in version_tags.items() if v}
    )
    log.info("registered %s version %s from run %s", model_name, version.version,
             run.info.run_id)
    return version


# --- looking versions up ---------------------------------------------------------------------


def get_version(model_name: str, version: str | int | None) -> ModelVersion:
    """A model version; ``None`` or "" or "latest" means the newest one."""
    client = MlflowClient()
    try:
        client.get_registered_model(model_name)
    except MlflowException:
        raise PipelineError(
            f"no registered model named '{model_name}'; register a run first "
            "(mlflow run . -e register -P run_id=<run id>)."
        ) from None
    if version in (None, "", "latest", "0", 0):
        versions = client.search_model_versions(f"name = '{model_name}'")
        if not versions:
            raise PipelineError(f"model '{model_name}' has no versions; register a run first.")
        return max(versions, key=lambda v: int(v.version))
    try:
        return client.get_model_version(model_name, str(int(version)))
    except (MlflowException, ValueError):
        raise PipelineError(
            f"model '{model_name}' has no version '{version}'; mlflow ui lists its versions."
        ) from None


def alias_holder(model_name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``, or None."""
    try:
        return MlflowClient().get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def production_versions(model_name: str) -> list[ModelVersion]:
    """Every version currently in stage Production."""
    versions = MlflowClient().search_model_versions(f"name = '{model_name}'")
    return [v for v in versions if v.current_stage == "Production"]


# --- the lock ----------------------------------------------------------------------------


@contextlib.contextmanager
def promote_lock(model_name: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the registry-wide promote lock for ``model_name``.

    The lock is a registered model named ``<model_name>.promote-lock``: creating a registered
    model is atomic in every MLflow store (a unique key in SQLite and PostgreSQL), so exactly
    one client can hold it. MLflow's own stage transition does not serialise two clients:
    with ``archive_existing_versions`` two racing promotes can both end in Production.
    A lock older than LOCK_STALE_SECONDS (a crashed holder) is broken.
    """
    client = MlflowClient()
    lock_name = model_name + LOCK_SUFFIX
    holder = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            client.create_registered_model(lock_name, description=f"held by {holder}")
            break
        except MlflowException as exc:
            if not _lock_was_taken(exc):
                raise
        _break_stale_lock(client, lock_name)
        if time.monotonic() > deadline:
            raise PipelineError(
                f"another promote of '{model_name}' holds the lock '{lock_name}' for over "
                f"{wait_seconds:.0f} s; retry later, or delete that registered model if its "
                "holder crashed."
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    try:
        yield
    finally:
        with contextlib.suppress(MlflowException):
            client.delete_registered_model(lock_name)


def _lock_was_taken(exc: MlflowException) -> bool:
    """Whether creating the lock failed because another client holds it, or held it a moment
    ago: MLflow's SQL store answers a unique-key clash by reading the existing row, and when
    its holder deletes it in between, the create fails with RESOURCE_DOES_NOT_EXIST instead of
    RESOURCE_ALREADY_EXISTS (seen racing two clients on a PostgreSQL-backed server: 4 in 300
    acquisitions). Both mean: not ours yet, try again."""
    code = str(exc.error_code)
    return ("RESOURCE_ALREADY_EXISTS" in code or "RESOURCE_DOES_NOT_EXIST" in code
            or "already exists" in str(exc))


def _break_stale_lock(client: MlflowClient, lock_name: str) -> None:
    with contextlib.suppress(MlflowException):
        lock = client.get_registered_model(lock_name)
        if time.time() - lock.creation_timestamp / 1000.0 > LOCK_STALE_SECONDS:
            log.warning("breaking stale promote lock %s (%s)", lock_name, lock.description)
            client.delete_registered_model(lock_name)


# --- the gate ----------------------------------------------------------------------------


@dataclass
class GateResult:
    """Failed checks (empty when the challenger may become champion) and what was compared."""

    failures: list[str]
    comparison: dict[str, str]


def champion_gate(challenger: ModelVersion, champion: ModelVersion | None) -> GateResult:
    """Judge the challenger on its own traffic lights and against the champion.

    Fails, one line per check, when the challenger's run has a red light in
    config.GATE_BLOCKING_CATEGORIES (calibration, stability), and when its ROC AUC on its
    holdout is below the champion's on the same rows by more than GATE_AUC_MARGIN (the
    holdout with the challenger's PDs is scored by the champion model too). The first
    version (no champion) is judged on its lights alone.
    """
    failures, comparison = lights_check(challenger)
    if champion is None or str(champion.version) == str(challenger.version):
        comparison["gate"] = "no other champion"
        return GateResult(failures, comparison)
    holdout = read_parquet_artifact(
        run_uri(challenger.run_id, HOLDOUT_ARTIFACT), f"holdout of version {challenger.version}"
    )
    y = holdout[TARGET_COL].to_numpy()
    challenger_auc = roc_auc(y, holdout[PD_COL].to_numpy())
    comparison.update({
        "gate.holdout_rows": str(len(holdout)),
        "gate.challenger_roc_auc": f"{challenger_auc:.6f}",
        "gate.champion_version": champion.version,
        "gate.auc_margin": str(GATE_AUC_MARGIN),
    })
    if same_model(challenger, champion):
        # One logged model behind both versions (main registering the same run again): the
        # champion's PDs on these rows are the challenger's, scored by that very model.
        comparison["gate.champion_same_model"] = challenger.source
        champion_pd = holdout[PD_COL].to_numpy()
    else:
        try:
            champion_pd = _champion_pd_on(champion, holdout)
        except PipelineError as exc:  # a failed check, so that force can still override it
            return GateResult(failures + [str(exc)], comparison)
    champion_auc = roc_auc(y, champion_pd)
    comparison["gate.champion_roc_auc"] = f"{champion_auc:.6f}"
    if challenger_auc < champion_auc - GATE_AUC_MARGIN:
        failures.append(
            f"ROC AUC {challenger_auc:.4f} of version {challenger.version} is below champion "
            f"version {champion.version}'s {champion_auc:.4f} on the same holdout "
            f"({len(holdout)} rows) by more than the margin {GATE_AUC_MARGIN}"
        )
    return GateResult(failures, comparison)


def same_model(first: ModelVersion, second: ModelVersion) -> bool:
    """Whether two versions were registered from one logged model (same source and run)."""
    return bool(first.source) and first.source == second.source and first.run_id == second.run_id


def lights_check(version: ModelVersion) -> tuple[list[str], dict[str, str]]:
    """Failure lines for the red blocking lights of the version's run, and summary tags."""
    found = traffic_lights(get_run(version.run_id).data.metrics)
    if not any(li.category in GATE_BLOCKING_CATEGORIES for li in found):
        return [
            f"version {version.version}'s run {version.run_id} logged no calibration or "
            "stability metrics to judge it by; train or tune it again with this code"
        ], {"gate.lights": "none logged"}
    failures = [
        f"red {li.category} light for version {version.version}: {li.check} = {li.value:.4g} "
        f"(thresholds: {li.thresholds})"
        for li in blocking_lights(found)
    ]
    counts = ", ".join(f"{sum(li.colour == c for li in found)} {c}"
                       for c in ("green", "amber", "red"))
    tags = {"gate.lights": counts,
            "gate.red_lights": ", ".join(li.metric for li in found if li.colour == "red")
            or "none"}
    return failures, tags


def _champion_pd_on(champion: ModelVersion, holdout) -> np.ndarray:
    """The champion's PDs on ``holdout``, or a clear error if it cannot score those rows."""
    model_uri = f"models:/{champion.name}/{champion.version}"
    try:
        model = mlflow.pyfunc.load_model(model_uri)
        limit_threads()  # the model's libraries (OpenMP) were loaded just now
        return np.asarray(model.predict(holdout)[PD_COL], dtype=float)
    except Exception as exc:  # a champion trained on other columns cannot score them
        raise PipelineError(
            f"champion version {champion.version} cannot score the challenger's holdout "
            f"({_error_line(exc)}); the two were trained on different data. Promote with "
            "-P force=true -P reason='...' to replace it anyway."
        ) from None


# --- stage and alias transitions ---------------------------------------------------------


def _snapshot(model_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """Stages of all versions and the holders of our aliases, to restore on failure."""
    client = MlflowClient()
    stages = {str(v.version): v.current_stage for v in
              client.search_model_versions(f"name = '{model_name}'")}
    aliases = {}
    for alias in STAGE_ALIASES.values():
        holder = alias_holder(model_name, alias)
        if holder is not None:
            aliases[alias] = str(holder.version)
    return stages, aliases


def _restore(model_name: str, stages: dict[str, str], aliases: dict[str, str]) -> None:
    client = MlflowClient()
    now_stages, now_aliases = _snapshot(model_name)
    for version, stage in stages.items():
        if now_stages.get(version) != stage:
            client.transition_model_version_stage(model_name, version, stage)
    for alias in STAGE_ALIASES.values():
        if alias in aliases and now_aliases.get(alias) != aliases[alias]:
            client.set_registered_model_alias(model_name, alias, aliases[alias])
        elif alias not in aliases and alias in now_aliases:
            client.delete_registered_model_alias(model_name, alias)


def _apply_stage(version: ModelVersion, stage: str) -> None:
    """Move ``version`` to ``stage`` and keep every alias and stage consistent."""
    client = MlflowClient()
    name = version.name
    if stage in STAGE_ALIASES:
        alias = STAGE_ALIASES[stage]
        for other in client.search_model_versions(f"name = '{name}'"):
            if str(other.version) != str(version.version) and other.current_stage == stage:
                client.transition_model_version_stage(name, other.version, "Archived")
        client.transition_model_version_stage(name, version.version, stage)
        client.set_registered_model_alias(name, alias, version.version)
    else:
        client.transition_model_version_stage(name, version.version, stage)
    for other_stage, other_alias in STAGE_ALIASES.items():
        holder = alias_holder(name, other_alias)
        if other_stage != stage and holder is not None and str(holder.version) == str(
                version.version):
            client.delete_registered_model_alias(name, other_alias)


def check_stage(stage: str) -> str:
    """The stage, spelled as MLflow wants it, or a clear error."""
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise PipelineError(f"unknown stage '{stage}'; choose one of {', '.join(STAGES)}.")


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
    if force and not reason.strip():
        raise PipelineError("force needs a reason: add -P reason='why this version must win'.")
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
        stages, aliases = _snapshot(model_name)
        try:
            _apply_stage(target, stage)
            _record_promotion(target, stage, gate, force, reason)
        except Exception:
            log.error("promotion failed; restoring the registry as it was")
            _restore(model_name, stages, aliases)
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


def load_pd_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a model by URI (models:/name@alias, models:/name/Stage, runs:/...), clearly."""
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise PipelineError(
            f"cannot load model '{model_uri}' ({_error_line(exc)}); check the name, version, "
            "alias or run id in mlflow ui."
        ) from None
