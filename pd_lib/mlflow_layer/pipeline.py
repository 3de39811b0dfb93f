"""The ``main`` entry point: generate -> train -> tune -> register the better -> promote.

Each step is its own ``mlflow run`` (a nested child run of main); finished generate, train
and tune runs with the same parameters and code are reused; register and promote never are
(issue 3: every main records its own registration and promotion decision).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from pd_lib import params
from pd_lib.config import LOANS_ARTIFACT, REPORT_ARTIFACT, TAG_SOURCE_SHA256
from pd_lib.data.sources import source_sha256
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.artifacts import run_uri
from pd_lib.mlflow_layer.inprocess import CommandLoader
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_PROJECT_ENV
from pd_lib.mlflow_layer.runs import full_params, get_or_run
from pd_lib.params import pick
from pd_lib.validation.lights import blocking_lights, traffic_lights

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
    try:
        run, reused = get_or_run(entry_point, params, context.experiment_id,
                                 context.env_manager, context.load_command, reuse=reuse,
                                 tags=tags)
    except ExecutionException as exc:
        raise PipelineError(f"step {entry_point} failed ({exc}); its error is above.") from None
    mlflow.set_tag(f"pd.step.{entry_point}", run.info.run_id)
    if reused:
        mlflow.set_tag(f"pd.reused.{entry_point}", run.info.run_id)
    return run


def _entry_point(run: Run) -> str:
    return run.data.tags.get(MLFLOW_PROJECT_ENTRY_POINT, "step")


def choose_candidate(candidates: tuple[Run, ...]) -> Run:
    """The candidate to register: among those with no red or grey (not computable) light in a
    blocking category (the gate's own rule), the lowest holdout log loss (model=auto's
    criterion). None passing: PipelineError before anything is registered, one line per
    blocking light."""
    red = {run.info.run_id: blocking_lights(traffic_lights(run.data.metrics))
           for run in candidates}
    passing = [run for run in candidates if not red[run.info.run_id]]
    for run in candidates:
        log.info("candidate %s run %s: holdout log loss %.4f, ROC AUC %.4f, %s",
                 _entry_point(run), run.info.run_id,
                 run.data.metrics.get("log_loss", float("nan")),
                 run.data.metrics.get("roc_auc", float("nan")),
                 "red: " + ", ".join(li.metric for li in red[run.info.run_id])
                 if red[run.info.run_id] else "no blocking red light")
    if not passing:
        lines = [f"{_entry_point(run)} run {run.info.run_id}: {li.colour} {li.category} light, "
                 f"{li.check} = {li.value:.4g} ({li.thresholds})"
                 for run in candidates for li in red[run.info.run_id]]
        raise PipelineError("\n".join(
            ["no candidate passes the promotion gate's blocking lights, so nothing was "
             "registered:", *lines,
             "try -P model=logistic_regression, -P calibration=isotonic, or more data; each "
             f"run's {REPORT_ARTIFACT} says why."]))
    return min(passing, key=lambda run: run.data.metrics.get("log_loss", float("inf")))


@dataclass(frozen=True)
class MainContext:
    """Where main's steps run: its experiment, their env manager, and how to find a step's
    click command when it runs in this process (the steps package provides it)."""

    experiment_id: str
    env_manager: str
    load_command: CommandLoader


def run_main(values: dict[str, Any], env_manager: str, load_command: CommandLoader
             ) -> dict[str, str]:
    """Chain the steps inside the active main run; returns the run ids and the version."""
    parent = MlflowClient().get_run(mlflow.active_run().info.run_id)
    context = MainContext(parent.info.experiment_id,
                          env_manager or inherited_env_manager(parent), load_command)
    generate = _step("generate", pick(values, params.DATA), context,
                     tags=_source_tags(values["source"]))
    data_uri = run_uri(generate.info.run_id, LOANS_ARTIFACT)
    split = {**pick(values, params.SPLIT), "seed": values["seed"]}
    train = _step("train", {"data_uri": data_uri, **pick(values, params.MODEL), **split},
                  context)
    tune = _step("tune", {"data_uri": data_uri, "model": values["tune_model"],
                          **pick(values, (*params.TUNE, params.CALIBRATION, params.MONOTONE)),
                          **split}, context)

    best = choose_candidate((train, tune))
    register = _step("register", {"run_id": best.info.run_id,
                                  "model_name": values["model_name"]}, context, reuse=False)
    version = register.data.params["registered_version"]
    _step("promote", {"version": version, **pick(values, params.PROMOTE)}, context,
          reuse=False)
    mlflow.log_params({"registered_version": version, "best_run_id": best.info.run_id})
    return {"generate": generate.info.run_id, "train": train.info.run_id,
            "tune": tune.info.run_id, "best": best.info.run_id, "version": version}
