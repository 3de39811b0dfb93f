"""Model registry: register versions, keep stages and aliases in step, the promotion gate.

Aliases are MLflow's current way, stages what the tutorial teaches; we keep both:
``champion`` <-> Production, ``challenger`` <-> Staging, a dethroned champion -> Archived.
Every promotion happens under a registry-wide lock (see :func:`promote_lock`) and is rolled
back if any write fails, so two racing promotes never leave two Production versions and a
failed one never leaves the registry half-changed.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import logging
import warnings
from dataclasses import dataclass

import mlflow
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    MODEL_ARTIFACT,
    NOT_REGISTERED,
    REPORT_ARTIFACT,
    STAGE_ALIASES,
    TAG_CODE_FINGERPRINT,
    TAG_DATA_SHA256,
    TAG_DATA_URI,
    TAG_GIT_COMMIT,
    TAG_HOLDOUT_AUC,
    TAG_SOURCE_RUN,
)
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import run_uri
from pd_lib.mlflow_layer.governance.lock import promote_lock
from pd_lib.mlflow_layer.governance.writes import RegistryWriter
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_GIT_COMMIT, quiet_registration_notice
from pd_lib.mlflow_layer.run_lookup import get_run
from pd_lib.mlflow_layer.scoring_model import input_columns, input_differences
from pd_lib.mlflow_layer.step_runs import ENTRY_POINT_TAG
from pd_lib.validation.lights import light_counts, traffic_lights

log = logging.getLogger("pd_pipeline")

# Stages are deprecated in MLflow but are what the tutorial teaches; we keep them on purpose,
# in step with aliases, so their deprecation warning is noise here.
warnings.filterwarnings("ignore", category=FutureWarning, message=".*model_version_stage.*")
warnings.filterwarnings("ignore", category=FutureWarning, message=".*latest_versions.*")


# --- registering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """The version a run's model is, and whether this call created it."""

    version: ModelVersion
    created: bool


def register(run_id: str, model_name: str) -> Registration:
    """Register the model of a train or tune run as a version of ``model_name``, once.

    A run that already is a version of the model returns that version (a rerun of main adds
    nothing). A model whose input columns differ from the champion's (else the newest
    version's) is refused before anything is written: it belongs to another portfolio.
    The version is created with its tags and description in one call: data URI and hash, git
    commit, code fingerprint, holdout AUC and lights of the run, and where its report is.
    """
    run = get_run(run_id)
    model_uri = run_uri(run.info.run_id, MODEL_ARTIFACT)
    try:
        candidate = mlflow.models.get_model_info(model_uri)
    except (MlflowException, OSError):
        raise PipelineError(
            f"run {run.info.run_id} has no logged model '{MODEL_ARTIFACT}'; register a train "
            "or tune run (its id is in the step's log and in mlflow ui)."
        ) from None
    if run.info.status != "FINISHED":
        raise PipelineError(
            f"run {run.info.run_id} is {run.info.status}, not FINISHED; register a finished run."
        )
    # Under the model's promote lock: two registers of one run at once made two versions.
    with promote_lock(model_name):
        return _register_once(run, model_name, model_uri, candidate)


def _register_once(run: Run, model_name: str, model_uri: str, candidate) -> Registration:
    """:func:`register`'s work once the lock is held: the existing version, or a new one."""
    existing = version_of_run(model_name, run.info.run_id)
    if existing is not None:
        log.info("run %s is already registered as %s version %s", run.info.run_id, model_name,
                 existing.version)
        return Registration(existing, created=False)
    check_same_portfolio(candidate.signature, model_name, run.info.run_id)
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    version_tags = {
        TAG_SOURCE_RUN: run.info.run_id,
        TAG_DATA_URI: params.get("resolved_data_uri", params.get("data_uri", "")),
        TAG_DATA_SHA256: tags.get(TAG_DATA_SHA256, ""),
        TAG_GIT_COMMIT: tags.get(TAG_GIT_COMMIT) or tags.get(MLFLOW_GIT_COMMIT, ""),
        TAG_CODE_FINGERPRINT: tags.get(TAG_CODE_FINGERPRINT, ""),
        TAG_HOLDOUT_AUC: f"{metrics['roc_auc']:.6f}" if "roc_auc" in metrics else "",
    }
    with quiet_registration_notice():
        version = mlflow.register_model(
            model_uri, model_name, tags={k: v for k, v in version_tags.items() if v}
        )
    report = log_registered_report(version, run.info.run_id)
    describe_version(version, run, report)
    describe_model(model_name, candidate.signature)
    log.info("registered %s version %s from run %s", model_name, version.version,
             run.info.run_id)
    return Registration(version, created=True)


def version_of_run(model_name: str, run_id: str) -> ModelVersion | None:
    """The (first) version of ``model_name`` registered from ``run_id``, or None."""
    try:
        versions = MlflowClient().search_model_versions(
            f"name = '{model_name}' and run_id = '{run_id}'")
    except MlflowException:
        return None
    return min(versions, key=lambda v: int(v.version)) if versions else None


def check_same_portfolio(signature, model_name: str, run_id: str) -> None:
    """Refuse a model whose input columns differ from the champion's (else the newest
    version's): one registered model name per portfolio, so that the gate, ``latest`` and
    scoring always compare and serve models of one schema."""
    reference = alias_holder(model_name, STAGE_ALIASES["Production"]) or newest_version(model_name)
    if reference is None or signature is None:
        return
    try:
        reference_signature = mlflow.models.get_model_info(reference.source).signature
    except (MlflowException, OSError):
        return  # its model is gone: the gate's load check speaks for it
    if reference_signature is None:
        return
    differences = input_differences(signature, reference_signature)
    if differences:
        role = "champion" if "champion" in reference.aliases else "newest version"
        raise PipelineError(
            f"run {run_id}'s model takes other columns than {model_name}'s {role} (version "
            f"{reference.version}): {'; '.join(differences)}. Nothing was registered: give "
            f"this portfolio its own name, -P model_name=<a name for this portfolio>.")


def newest_version(model_name: str) -> ModelVersion | None:
    """The highest-numbered version of ``model_name``, or None (no model, no versions)."""
    try:
        versions = MlflowClient().search_model_versions(f"name = '{model_name}'")
    except MlflowException:
        return None
    return max(versions, key=lambda v: int(v.version)) if versions else None


def describe_model(model_name: str, signature) -> None:
    """A registered model's description, written once: which portfolio it scores."""
    client = MlflowClient()
    with contextlib.suppress(MlflowException):
        if client.get_registered_model(model_name).description:
            return
        columns = ", ".join(name for name, _, _ in input_columns(signature)) if signature else "?"
        client.update_registered_model(model_name, description=(
            f"Probability-of-default model of one loan portfolio (inputs: {columns}). "
            "Versions come from pd-pipeline's register step; the champion alias (stage "
            "Production) is the version scoring uses, and each version's description says "
            "its data, holdout AUC, traffic lights and validation report."))


def log_registered_report(version: ModelVersion, source_run_id: str) -> str:
    """Log the source run's validation report to the active (register) run with its cover's
    "Registered as" filled in; returns the URI of the report a reader should open."""
    source_report = run_uri(source_run_id, REPORT_ARTIFACT)
    active = mlflow.active_run()
    if active is None:
        return source_report
    try:
        text = mlflow.artifacts.load_text(source_report)
    except (MlflowException, OSError):
        return source_report
    registered = (f"{version.name} version {version.version} (registered "
                  f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC})")
    for placeholder in (html.escape(NOT_REGISTERED), NOT_REGISTERED):  # the cover escapes it
        text = text.replace(placeholder, html.escape(registered), 1)
    mlflow.log_text(text, REPORT_ARTIFACT)
    return run_uri(active.info.run_id, REPORT_ARTIFACT)


def describe_version(version: ModelVersion, run, report: str) -> None:
    """What a reader of the registry needs first: data, AUC, lights, where the report is."""
    metrics, params = run.data.metrics, run.data.params
    found = traffic_lights(metrics)
    lights = light_counts(found, "none logged")
    auc = f"{metrics['roc_auc']:.3f}" if "roc_auc" in metrics else "not logged"
    data = params.get("resolved_data_uri", params.get("data_uri", "")) or "not recorded"
    text = (f"{run.data.tags.get(ENTRY_POINT_TAG, 'run')} run {run.info.run_id} on {data}. "
            f"Holdout ROC AUC {auc}; traffic lights: {lights}. Validation report: {report}")
    with contextlib.suppress(MlflowException):
        MlflowClient().update_model_version(version.name, version.version, description=text)


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
        newest = newest_version(model_name)
        if newest is None:
            raise PipelineError(f"model '{model_name}' has no versions; register a run first.")
        return newest
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


# --- stage and alias transitions ---------------------------------------------------------


def snapshot(model_name: str) -> tuple[dict[str, str], dict[str, str]]:
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


def restore(model_name: str, stages: dict[str, str], aliases: dict[str, str],
            writer: RegistryWriter | None = None) -> None:
    """Put stages and our aliases back as ``snapshot`` saw them (only what differs)."""
    writer = writer or RegistryWriter()
    now_stages, now_aliases = snapshot(model_name)
    for version, stage in stages.items():
        if version in now_stages and now_stages[version] != stage:
            writer.transition(model_name, version, stage)
    for alias in STAGE_ALIASES.values():
        if alias in aliases and now_aliases.get(alias) != aliases[alias]:
            writer.set_alias(model_name, alias, aliases[alias])
        elif alias not in aliases and alias in now_aliases:
            writer.delete_alias(model_name, alias)


def apply_stage(version: ModelVersion, stage: str, writer: RegistryWriter | None = None) -> None:
    """Move ``version`` to ``stage`` and keep every alias and stage consistent.

    Idempotent: applied again (to finish an interrupted promotion) it writes only what is
    still missing. The order keeps a reader's view sane: the old holder is archived, the new
    one gets the stage, then the alias moves to it.
    """
    writer = writer or RegistryWriter()
    client = writer.client
    name, number = version.name, str(version.version)
    versions = client.search_model_versions(f"name = '{name}'")
    if stage in STAGE_ALIASES:
        for other in versions:
            if str(other.version) != number and other.current_stage == stage:
                writer.transition(name, other.version, "Archived")
    if client.get_model_version(name, number).current_stage != stage:
        writer.transition(name, number, stage)
    for other_stage, alias in STAGE_ALIASES.items():
        holder = alias_holder(name, alias)
        if other_stage == stage:
            if holder is None or str(holder.version) != number:
                writer.set_alias(name, alias, number)
        elif holder is not None and str(holder.version) == number:
            writer.delete_alias(name, alias)


def load_pd_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a model by URI (models:/name@alias, models:/name/Stage, runs:/...), clearly."""
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise PipelineError(
            f"cannot load model '{model_uri}' ({first_line(exc)}); check the name, version, "
            "alias or run id in mlflow ui."
        ) from None
