"""Rebuild a registered version from its lineage and prove it is the same model (issue 30).

The version's train (or tune) run names its data (a generate run, or a file), its parameters,
its code fingerprint and git commit. ``reproduce`` checks out that commit into a temporary
tree (refusing code that was never committed), checks a user file still hashes as recorded,
runs generate and train (or tune) again from the old tree with the recorded parameters and no
reuse, then compares: data hash, every holdout PD, every metric, the chosen kind and
calibration (:mod:`pd_lib.validation.reproduction`). One ``reproduce`` run logs the HTML and
JSON report; the version is tagged ``pd.reproduced`` yes or no.
"""

from __future__ import annotations

import datetime
import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import yaml
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.code_checkout import checked_out, tree_fingerprint
from pd_lib.config import (
    HOLDOUT_ARTIFACT,
    LOANS_ARTIFACT,
    PROJECT_ROOT,
    TAG_CODE_FINGERPRINT,
    TAG_DATA_SHA256,
    TAG_GIT_COMMIT,
    TAG_SOURCE_SHA256,
    TAG_THREADS,
)
from pd_lib.data.schema import sha256_of_file
from pd_lib.data.sources import is_file_source
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import log_json, read_parquet_artifact, run_uri
from pd_lib.mlflow_layer.governance.registry import get_version
from pd_lib.mlflow_layer.run_lookup import get_run, parse_run_id
from pd_lib.mlflow_layer.step_runs import ENTRY_POINT_TAG
from pd_lib.validation.reproduction import (
    Reproduction,
    choice_differences,
    judge,
    metric_differences,
    pd_difference,
    reproduction_html,
)

log = logging.getLogger("pd_pipeline")

TAG_REPRODUCED = "pd.reproduced"
TAG_REPRODUCED_MAX_PD_DIFF = "pd.reproduced_max_pd_diff"
TAG_REPRODUCED_AT = "pd.reproduced_at"
TAG_REPRODUCED_RUN = "pd.reproduced_run_id"
REPORT_HTML = "reproduce/reproduction.html"
REPORT_JSON = "reproduce/reproduction.json"
GIT_REPO_URL_TAG = "mlflow.source.git.repoURL"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
PARENT_TAG = "mlflow.parentRunId"
BUILT_BY = ("train", "tune")


@dataclass
class Lineage:
    """Everything a version was built from, as its runs recorded it."""

    version: ModelVersion
    run: Run
    entry_point: str
    data_uri: str
    generate_run: Run | None = None
    data_file: str = ""
    git_commit: str = ""
    fingerprint: str = ""
    repo_url: str = ""
    notes: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, str]:
        """The lineage in words, for the report."""
        data = (f"generate run {self.generate_run.info.run_id}" if self.generate_run
                else "the train run's own data")
        return {"Model": f"{self.version.name} version {self.version.version}",
                f"{self.entry_point} run": self.run.info.run_id,
                "Data": f"{self.data_uri} ({data})",
                "Data file": self.data_file or "none (generated from its seed)",
                "Git commit": self.git_commit or "unknown",
                "Git repository": self.repo_url or "this one",
                "Code fingerprint": self.fingerprint or "unknown",
                "Threads (original)": self.run.data.tags.get(TAG_THREADS, "unknown")}


def resolve_version(model_name: str, version: str) -> ModelVersion:
    """The version by number, or by alias (champion, challenger, ...); a clear error else."""
    version = (version or "").strip()
    if version.isdigit():
        return get_version(model_name, version)
    get_version(model_name, None)  # the model exists and has versions, or a clear error
    try:
        return MlflowClient().get_model_version_by_alias(model_name, version)
    except MlflowException:
        raise PipelineError(f"model '{model_name}' has no version or alias '{version}'; pass "
                            "-P version=<number> or an alias that mlflow ui shows.") from None


def _unquote(value: str) -> str:
    """A parameter as given, from the shell-quoted form runs store (see as_mlflow_param)."""
    try:
        parts = shlex.split(value)
    except ValueError:
        return value
    return parts[0] if len(parts) == 1 else value


def read_lineage(version: ModelVersion) -> Lineage:
    """The version's train or tune run, its data and its code, from the store."""
    run = get_run(version.run_id)
    entry_point = run.data.tags.get(ENTRY_POINT_TAG, "")
    if entry_point not in BUILT_BY:
        raise PipelineError(f"version {version.version} of '{version.name}' comes from run "
                            f"{run.info.run_id}, a '{entry_point or 'unknown'}' run, not a train "
                            "or tune run; reproduce rebuilds only what those steps built.")
    params, tags = run.data.params, run.data.tags
    data_uri = _unquote(params.get("resolved_data_uri", "") or params.get("data_uri", ""))
    lineage = Lineage(version=version, run=run, entry_point=entry_point, data_uri=data_uri,
                      git_commit=(version.tags.get(TAG_GIT_COMMIT) or tags.get(TAG_GIT_COMMIT)
                                  or tags.get(GIT_COMMIT_TAG, "")),
                      fingerprint=tags.get(TAG_CODE_FINGERPRINT, ""),
                      repo_url=tags.get(GIT_REPO_URL_TAG, ""))
    if data_uri.startswith("runs:/"):
        source_run = get_run(parse_run_id(data_uri))
        if source_run.data.tags.get(ENTRY_POINT_TAG) == "generate":
            lineage.generate_run = source_run
            source = _unquote(source_run.data.params.get("source", ""))
            if is_file_source(source):
                lineage.data_file = source
    elif data_uri:
        lineage.data_file = data_uri
    return lineage


def find_data_file(path: str) -> Path:
    """A recorded data file, absolute: as recorded, else relative to here or to the project."""
    for candidate in (Path(path), Path.cwd() / path, PROJECT_ROOT / path):
        if candidate.is_file():
            return candidate.resolve()
    raise PipelineError(f"data file '{path}' that the version was built from is missing; put "
                        "it back at that path (or run reproduce from the folder it is relative "
                        "to).")


def recorded_file_hash(lineage: Lineage) -> str:
    """The SHA-256 the lineage recorded for its data file."""
    if lineage.generate_run is not None:
        return lineage.generate_run.data.tags.get(TAG_SOURCE_SHA256, "")
    return lineage.run.data.tags.get(TAG_DATA_SHA256, "")


def check_code(lineage: Lineage, tree: Path) -> None:
    """Refuse a version whose code fingerprint is not its commit's: it was built from
    uncommitted changes, which no checkout can bring back."""
    found = tree_fingerprint(tree)
    if lineage.fingerprint and found and found != lineage.fingerprint:
        raise PipelineError(
            f"version {lineage.version.version} was built from uncommitted changes on top of "
            f"commit {lineage.git_commit[:12]}: its code fingerprint "
            f"{lineage.fingerprint[:12]} is not that commit's {found[:12]}; commit the code, "
            "train and register again, then reproduce that version.")


def declared_params(tree: Path, entry_point: str) -> list[str]:
    """The parameters the old tree's MLproject declares for ``entry_point`` (its own file:
    parameters may have come or gone since)."""
    project = yaml.safe_load((tree / "MLproject").read_text())
    return list(project["entry_points"][entry_point].get("parameters", {}))


def _step_params(tree: Path, entry_point: str, recorded: dict[str, str],
                 overrides: dict[str, str]) -> dict[str, str]:
    """The recorded values of the parameters the old tree's entry point declares."""
    declared = declared_params(tree, entry_point)
    values = {name: _unquote(recorded[name]) for name in declared if name in recorded}
    return {**values, **overrides}


def run_step(tree: Path, entry_point: str, params: dict[str, str], parent: Run) -> Run:
    """Run an entry point of the old tree through ``mlflow run`` (local environment, no
    reuse), as a child of the reproduce run; raise PipelineError when it fails."""
    log.info("reproduce: running %s of the recorded commit with %s", entry_point,
             ", ".join(f"{k}={v}" for k, v in sorted(params.items())))
    try:
        submitted = mlflow.projects.run(str(tree), entry_point=entry_point, parameters=params,
                                        experiment_id=parent.info.experiment_id,
                                        env_manager="local", synchronous=True)
    except Exception as exc:  # mlflow raises ExecutionException, or the step's own failure
        raise RebuildFailed(f"the rebuilt {entry_point} failed: {first_line(exc)}") from None
    MlflowClient().set_tag(submitted.run_id, PARENT_TAG, parent.info.run_id)
    return MlflowClient().get_run(submitted.run_id)


class RebuildFailed(Exception):
    """A rebuilt step did not finish: the version is not reproduced (not a user error)."""


def _choices(run: Run) -> dict[str, str]:
    params = run.data.params
    return {k: v for k, v in params.items()
            if k in ("selected_model", "calibration_method") or k.startswith("best_")}


def rebuild(lineage: Lineage, tree: Path, data_file: Path | None, parent: Run) -> Run:
    """generate (unless the data is a file given to train) and train or tune, from ``tree``."""
    train_overrides = {}
    if lineage.generate_run is not None or not lineage.data_file:
        recorded = lineage.generate_run.data.params if lineage.generate_run else {}
        generate = run_step(tree, "generate", _step_params(
            tree, "generate", recorded, {"source": str(data_file)} if data_file else {}),
            parent)
        train_overrides["data_uri"] = run_uri(generate.info.run_id, LOANS_ARTIFACT)
    else:
        train_overrides["data_uri"] = str(data_file)
    return run_step(tree, lineage.entry_point, _step_params(
        tree, lineage.entry_point, lineage.run.data.params, train_overrides), parent)


def compare(lineage: Lineage, rebuilt: Run) -> Reproduction:
    """The rebuilt run against the version's: data hash, holdout PDs, metrics, choices."""
    original = lineage.run
    result = Reproduction(model_name=lineage.version.name, version=lineage.version.version,
                          original_run_id=original.info.run_id,
                          rebuilt_run_id=rebuilt.info.run_id,
                          threads=rebuilt.data.tags.get(TAG_THREADS, ""),
                          data_sha256=original.data.tags.get(TAG_DATA_SHA256, ""),
                          rebuilt_data_sha256=rebuilt.data.tags.get(TAG_DATA_SHA256, ""))
    before = read_parquet_artifact(run_uri(original.info.run_id, HOLDOUT_ARTIFACT),
                                   "the version's scored holdout")
    after = read_parquet_artifact(run_uri(rebuilt.info.run_id, HOLDOUT_ARTIFACT),
                                  "the rebuilt scored holdout")
    result.holdout_loans = len(before)
    result.max_pd_difference, gap_reason = pd_difference(before, after)
    result.metrics_compared, result.max_metric_difference, result.differing_metrics = (
        metric_differences(original.data.metrics, rebuilt.data.metrics))
    result.choices = choice_differences(_choices(original), _choices(rebuilt))
    return judge(result, gap_reason)


def not_reproduced(lineage: Lineage, problem: str) -> Reproduction:
    """A result with one problem found before (or instead of) a rebuild."""
    result = Reproduction(model_name=lineage.version.name, version=lineage.version.version,
                          original_run_id=lineage.run.info.run_id,
                          data_sha256=lineage.run.data.tags.get(TAG_DATA_SHA256, ""))
    result.problems = [problem]
    return result


def reproduce_version(model_name: str, version: str, parent: Run) -> Reproduction:
    """Rebuild ``version`` (a number or an alias) of ``model_name`` and compare; log the
    report in ``parent`` (the reproduce run) and tag the version."""
    lineage = read_lineage(resolve_version(model_name, version))
    log.info("reproduce: %s version %s from %s run %s, commit %s, data %s", model_name,
             lineage.version.version, lineage.entry_point, lineage.run.info.run_id,
             lineage.git_commit[:12] or "unknown", lineage.data_uri)
    data_file = find_data_file(lineage.data_file) if lineage.data_file else None
    with checked_out(lineage.git_commit, lineage.repo_url) as tree:
        check_code(lineage, tree)
        recorded = recorded_file_hash(lineage)
        found = sha256_of_file(data_file) if data_file else ""
        if data_file and found != recorded:
            result = not_reproduced(lineage, (
                f"data file {data_file} has changed: its SHA-256 is {found}, the version was "
                f"built from {recorded or 'an unrecorded hash'}"))
        else:
            try:
                result = compare(lineage, rebuild(lineage, tree, data_file, parent))
            except RebuildFailed as exc:
                result = not_reproduced(lineage, str(exc))
    result.date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    log_reproduction(result, lineage, parent)
    return result


def log_reproduction(result: Reproduction, lineage: Lineage, parent: Run) -> None:
    """The reproduce run's params, metrics and report, then the version's tags."""
    mlflow.log_params({"resolved_version": result.version,
                       "original_run_id": result.original_run_id,
                       "rebuilt_run_id": result.rebuilt_run_id or "none"})
    mlflow.log_metrics({"reproduced": float(result.reproduced),
                        "max_pd_difference": result.max_pd_difference,
                        "max_metric_difference": result.max_metric_difference})
    log_json(result.as_dict(), REPORT_JSON)
    mlflow.log_text(reproduction_html(result, lineage.facts()), REPORT_HTML)
    verdict = "yes" if result.reproduced else "no"
    mlflow.set_tags({TAG_REPRODUCED: verdict})
    client = MlflowClient()
    for key, value in ((TAG_REPRODUCED_RUN, parent.info.run_id),
                       (TAG_REPRODUCED_MAX_PD_DIFF, f"{result.max_pd_difference:.3g}"),
                       (TAG_REPRODUCED_AT, result.date), (TAG_REPRODUCED, verdict)):
        client.set_model_version_tag(result.model_name, result.version, key, value)
