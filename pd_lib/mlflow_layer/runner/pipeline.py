"""The ``main`` entry point: generate -> train and tune -> register the better -> promote.

Each step is its own ``mlflow run`` child run of main; tune runs beside train in a background
process where it can (:mod:`pd_lib.mlflow_layer.runner.background`), the two dividing main's cores
by their expected work (:mod:`pd_lib.cores`); finished generate, train
and tune runs with the same parameters and code are reused; register and promote never are
(issue 3: every main records its own registration and promotion decision).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from pd_lib import params
from pd_lib.config import (
    LOANS_ARTIFACT,
    PROJECT_ROOT,
    REPORT_ARTIFACT,
    TAG_CORE_PLAN,
    TAG_SOURCE_SHA256,
)
from pd_lib.cores import grant, handed_down, plan_shares, share, take_share
from pd_lib.data.sources import source_sha256
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.artifacts import run_uri
from pd_lib.mlflow_layer.governance.gate_report import COMPARISON_ARTIFACT
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_PROJECT_ENV
from pd_lib.mlflow_layer.runner.background import BackgroundStep, start_in_background
from pd_lib.mlflow_layer.runner.inprocess import CommandLoader
from pd_lib.mlflow_layer.runner.runs import full_params, get_or_run, reusable_run
from pd_lib.mlflow_layer.runner.step_modes import parallel_steps
from pd_lib.params import pick
from pd_lib.validation.gate_rules import candidate_choice
from pd_lib.validation.lights import light_counts, traffic_lights

log = logging.getLogger("pd_pipeline")


def inherited_env_manager(run: Run) -> str:
    """The env manager main itself runs under (mlflow issue 11849: it is not inherited)."""
    return run.data.tags.get(MLFLOW_PROJECT_ENV) or "local"


def _source_tags(source: str) -> dict[str, str]:
    """A user file's SHA-256: an edited file with the same name must be read again."""
    sha256 = source_sha256(source)
    return {TAG_SOURCE_SHA256: sha256} if sha256 else {}


def _step(entry_point: str, overrides: dict[str, Any], context: MainContext,
          tags: dict[str, str] | None = None, reuse: bool = True) -> Run:
    params = full_params(entry_point, overrides)
    started = time.monotonic()
    try:
        run, reused = get_or_run(entry_point, params, context.experiment_id,
                                 context.env_manager, context.load_command, reuse=reuse,
                                 tags=tags)
    except ExecutionException as exc:
        raise PipelineError(f"step {entry_point} failed ({exc}); its error is above.") from None
    return _record(entry_point, run, reused, started, context)


def _record(entry_point: str, run: Run, reused: bool, started: float, context: MainContext,
            seconds: float | None = None) -> Run:
    """Tag main's run with the step's run (and whether it was reused) and keep its record:
    ``seconds``, else the time since ``started``."""
    mlflow.set_tag(f"pd.step.{entry_point}", run.info.run_id)
    if reused:
        mlflow.set_tag(f"pd.reused.{entry_point}", run.info.run_id)
    context.steps.append(StepRecord(entry_point, run, reused, time.monotonic() - started
                                    if seconds is None else seconds))
    return run


def run_seconds(run: Run) -> float | None:
    """Start to end of a finished run, from the store's times (None while it runs)."""
    if run.info.end_time is None or run.info.start_time is None:
        return None
    return (run.info.end_time - run.info.start_time) / 1000


@dataclass
class PendingStep:
    """A step started before main needs it: a reused run, or one running in the background."""

    entry_point: str
    started: float
    reused: Run | None = None
    background: BackgroundStep | None = None

    def cancel(self) -> None:
        if self.background is not None:
            self.background.cancel()


def _start_step(entry_point: str, overrides: dict[str, Any], context: MainContext,
                cores: int) -> PendingStep:
    """Reuse a finished matching run, else start the step in a background process on
    ``cores`` cores; when it ends, main's process gets all of main's cores back."""
    params = full_params(entry_point, overrides)
    started = time.monotonic()
    found = reusable_run(entry_point, params, context.experiment_id)
    if found is not None:
        return PendingStep(entry_point, started, reused=found)
    step = start_in_background(PROJECT_ROOT, entry_point, params, context.experiment_id,
                               context.load_command, cores)
    step.when_done(lambda: grant(context.cores))
    return PendingStep(entry_point, started, background=step)


def _finish_step(pending: PendingStep, context: MainContext) -> Run:
    """The pending step's run once it has ended; PipelineError if it failed."""
    if pending.reused is not None:
        return _record(pending.entry_point, pending.reused, True, pending.started, context)
    step = pending.background
    step.grant(context.cores)  # main's own step has ended: its cores go to the other
    if not step.wait():
        raise PipelineError(f"step {step.entry_point} failed (run {step.run_id}); its error "
                            f"is above, in the lines starting '{step.entry_point} |'.")
    run = MlflowClient().get_run(step.run_id)
    # its run's own time: a step that ended before train did has not taken train's too
    return _record(step.entry_point, run, False, pending.started, context, run_seconds(run))


def core_plan(cores: int, n_rows: int, train: dict[str, Any], tune: dict[str, Any],
              candidates: int) -> dict[str, int]:
    """main's cores divided between train and tune, running side by side, by the rows each
    expects to fit on ``n_rows`` training loans (pd_lib.cores.plan_shares); ``candidates``
    is the size of tune's grid, as main parsed it when it checked the grid."""
    from pd_lib.modelling import search, selection

    return plan_shares(cores, {
        "train": selection.expected_rows_fitted(n_rows, train["model"]),
        "tune": search.expected_rows_fitted(n_rows, candidates, int(tune["cv"]),
                                            tune["search"])})


def grid_size(grid: dict[str, list[Any]]) -> int:
    """The candidates of a parsed grid: the product of its value counts."""
    return math.prod(len(v) for v in grid.values())


def _train_and_tune(train: dict[str, Any], tune: dict[str, Any], n_rows: int,
                    candidates: int, context: MainContext) -> tuple[Run, Run]:
    """train in this process and tune beside it in a background process where
    :func:`parallel_steps` allows (tune is stopped if train fails), each on its share of
    main's cores, else one after the other on all of them."""
    if not parallel_steps(context.env_manager, cores=context.cores):
        return _step("train", train, context), _step("tune", tune, context)
    shares = core_plan(context.cores, n_rows, train, tune, candidates)
    plan = (f"{context.cores} cores: train {shares['train']}, tune {shares['tune']} "
            f"(by expected rows fitted on {n_rows} loans; the first to end hands its cores "
            "to the other)")
    log.info("core plan: %s", plan)
    mlflow.set_tag(TAG_CORE_PLAN, plan)
    pending = _start_step("tune", tune, context, shares["tune"])
    try:
        with handed_down(shares["train"] if pending.background else context.cores):
            train_run = _step("train", train, context)
    except BaseException:
        pending.cancel()
        raise
    try:
        return train_run, _finish_step(pending, context)
    finally:
        take_share(context.cores)


def _entry_point(run: Run) -> str:
    return run.data.tags.get(MLFLOW_PROJECT_ENTRY_POINT, "step")


def choose_candidate(candidates: tuple[Run, ...]) -> Run:
    """The candidate to register (pd_lib.validation.gate_rules.candidate_choice: no blocking
    light, then the lowest holdout log loss). None passing: PipelineError before anything is
    registered, one line per blocking light."""
    by_id = {run.info.run_id: run for run in candidates}
    chosen, blocking = candidate_choice({i: run.data.metrics for i, run in by_id.items()})
    for run_id, run in by_id.items():
        log.info("candidate %s run %s: holdout log loss %.4f, ROC AUC %.4f, %s",
                 _entry_point(run), run_id, run.data.metrics.get("log_loss", float("nan")),
                 run.data.metrics.get("roc_auc", float("nan")),
                 "red: " + ", ".join(li.metric for li in blocking[run_id])
                 if blocking[run_id] else "no blocking red light")
    if chosen is None:
        lines = [f"{_entry_point(run)} run {run_id}: {li.colour} {li.category} light, "
                 f"{li.check} = {li.value:.4g} ({li.thresholds})"
                 for run_id, run in by_id.items() for li in blocking[run_id]]
        raise PipelineError("\n".join(
            ["no candidate passes the promotion gate's blocking lights, so nothing was "
             "registered:", *lines,
             "try -P model=logistic_regression, -P calibration=isotonic, or more data; each "
             f"run's {REPORT_ARTIFACT} says why."]))
    return by_id[chosen]


@dataclass(frozen=True)
class StepRecord:
    """One step of a main run: its run, whether it was reused, and the seconds it took."""

    entry_point: str
    run: Run
    reused: bool
    seconds: float


@dataclass(frozen=True)
class MainContext:
    """Where main's steps run: its experiment, their env manager, how to find a step's
    click command when it runs in this process (the steps package provides it), and main's
    cores (pd_lib.cores); the steps run so far."""

    experiment_id: str
    env_manager: str
    load_command: CommandLoader
    cores: int
    steps: list[StepRecord] = field(default_factory=list)


@dataclass(frozen=True)
class MainResult:
    """What main did: its steps, the registered version, the candidate it chose."""

    steps: list[StepRecord]
    model_name: str
    version: str
    best: Run
    experiment_id: str

    def run_id(self, entry_point: str) -> str:
        return next(s.run.info.run_id for s in self.steps if s.entry_point == entry_point)


def run_main(values: dict[str, Any], env_manager: str, load_command: CommandLoader,
             cores: int | None, grid: dict[str, list[Any]]) -> MainResult:
    """Chain the steps inside the active main run, on ``cores`` cores (None: this process's
    share, pd_lib.cores), ``grid`` the tune grid main checked; returns what ran and the
    version."""
    parent = MlflowClient().get_run(mlflow.active_run().info.run_id)
    context = MainContext(parent.info.experiment_id,
                          env_manager or inherited_env_manager(parent), load_command,
                          cores or share())
    generate = _step("generate", pick(values, (*params.DATA, *params.LAKE)), context,
                     tags=_source_tags(values["source"]))
    data_uri = run_uri(generate.info.run_id, LOANS_ARTIFACT)
    split = {**pick(values, params.SPLIT), "seed": values["seed"]}
    n_rows = int(generate.data.metrics.get("rows", 0) * (1 - float(values["test_size"])))
    train, tune = _train_and_tune(
        {"data_uri": data_uri, **pick(values, params.MODEL), **split},
        {"data_uri": data_uri, "model": values["tune_model"],
         **pick(values, (*params.TUNE, params.CALIBRATION, params.MONOTONE)), **split},
        n_rows, grid_size(grid), context)

    best = choose_candidate((train, tune))
    register = _step("register", {"run_id": best.info.run_id,
                                  "model_name": values["model_name"]}, context, reuse=False)
    version = register.data.params["registered_version"]
    _step("promote", {"version": version, **pick(values, params.PROMOTE)}, context,
          reuse=False)
    mlflow.log_params({"registered_version": version, "best_run_id": best.info.run_id})
    return MainResult(context.steps, values["model_name"], version, best,
                      context.experiment_id)


def _logged_or(run_id: str, artifact: str, otherwise: str, ui_base: str) -> str:
    """Where a browser opens ``artifact`` of ``run_id`` if the run logged it
    (:func:`browser_link`), else ``otherwise``."""
    folder = artifact.rsplit("/", 1)[0]
    logged = {a.path for a in MlflowClient().list_artifacts(run_id, folder)}
    return browser_link(run_id, artifact, ui_base) if artifact in logged else otherwise


def browser_link(run_id: str, artifact: str, ui_base: str) -> str:
    """A link a browser opens: the artifact's file (``file://``) when the store keeps
    artifacts on this machine, else the run's artifact page in the MLflow UI at ``ui_base``."""
    run = MlflowClient().get_run(run_id)
    root = urlparse(run.info.artifact_uri)
    if root.scheme in ("", "file"):
        return (Path(unquote(root.path)) / artifact).resolve().as_uri()
    return (f"{ui_base}/#/experiments/{run.info.experiment_id}/runs/{run_id}/artifacts/"
            f"{artifact}")


def summary_lines(result: MainResult, stage: str) -> list[str]:
    """main's closing summary: a table of the steps (run, reused, seconds, holdout AUC,
    lights), the version and stage, where the report is, and how to open mlflow ui on it."""
    tracking_uri = mlflow.get_tracking_uri()
    header = ("step", "run id", "reused", "seconds", "holdout AUC", "lights")
    rows = [header]
    for step in result.steps:
        metrics = step.run.data.metrics
        found = traffic_lights(metrics) if "roc_auc" in metrics else []
        lights = light_counts(found, "-")
        auc = f"{metrics['roc_auc']:.4f}" if "roc_auc" in metrics else "-"
        chosen = " *" if step.run.info.run_id == result.best.info.run_id else ""
        rows.append((step.entry_point + chosen, step.run.info.run_id,
                     "yes" if step.reused else "no", f"{step.seconds:.1f}", auc, lights))
    base = "http://127.0.0.1:5000" if not tracking_uri.startswith("http") else tracking_uri
    report = _logged_or(result.run_id("register"), REPORT_ARTIFACT,
                        browser_link(result.best.info.run_id, REPORT_ARTIFACT, base), base)
    gate = _logged_or(result.run_id("promote"), COMPARISON_ARTIFACT,
                      "no new comparison (the version already held the stage)", base)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in rows]
    ui_uri = tracking_uri if "://" in tracking_uri else f"file:{tracking_uri}"
    serve = (f"mlflow ui --backend-store-uri {ui_uri}" if not tracking_uri.startswith("http")
             else f"open {tracking_uri}")
    return [
        *table,
        "(* the candidate registered: no red blocking light, lowest holdout log loss)",
        f"model: {result.model_name} version {result.version}, stage {stage}",
        f"report: {report}",
        f"gate: {gate}",
        f"look: {serve}, then {base}/#/experiments/{result.experiment_id}/runs "
        f"(model: {base}/#/models/{result.model_name}/versions/{result.version})",
    ]
