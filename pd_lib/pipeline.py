"""The ``main`` entry point: generate -> train -> tune -> register -> promote.

Each step is its own ``mlflow run`` (a nested child run of main); finished generate, train
and tune runs with the same parameters and code are reused; register and promote never are
(issue 3: every main records its own registration and promotion decision).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, TAG_SOURCE_SHA256
from pd_lib.data import is_file_source, sha256_of_file
from pd_lib.errors import PipelineError
from pd_lib.runs import full_params, get_or_run
from pd_lib.tracking import run_uri

log = logging.getLogger("pd_pipeline")


def inherited_env_manager(run: Run) -> str:
    """The env manager main itself runs under (mlflow issue 11849: it is not inherited)."""
    return run.data.tags.get("mlflow.project.env") or "local"


def _source_tags(source: str) -> dict[str, str]:
    """A user file's SHA-256: an edited file with the same name must be read again."""
    if is_file_source(source) and Path(source).is_file():
        return {TAG_SOURCE_SHA256: sha256_of_file(source)}
    return {}


def _step(entry_point: str, overrides: dict[str, Any], experiment_id: str, env_manager: str,
          tags: dict[str, str] | None = None, reuse: bool = True) -> Run:
    params = full_params(entry_point, overrides)
    try:
        run, reused = get_or_run(entry_point, params, experiment_id, env_manager, reuse=reuse,
                                 tags=tags)
    except ExecutionException as exc:
        raise PipelineError(f"step {entry_point} failed ({exc}); its error is above.") from None
    mlflow.set_tag(f"pd.step.{entry_point}", run.info.run_id)
    if reused:
        mlflow.set_tag(f"pd.reused.{entry_point}", run.info.run_id)
    return run


def run_main(params: dict[str, Any], env_manager: str) -> dict[str, str]:
    """Chain the steps inside the active main run; returns the run ids and the version."""
    parent = MlflowClient().get_run(mlflow.active_run().info.run_id)
    experiment_id = parent.info.experiment_id
    env_manager = env_manager or inherited_env_manager(parent)
    data_keys = ("source", "n_samples", "n_features", "default_rate", "seed", "target",
                 "id_col", "date_col", "label_map")
    model_keys = ("model", "n_estimators", "max_depth", "min_samples_leaf", "test_size",
                  "seed", "threshold", "split")
    tune_keys = ("tune_model", "grid", "cv", "search", "test_size", "seed", "threshold",
                 "split")

    generate = _step("generate", {k: params[k] for k in data_keys}, experiment_id, env_manager,
                     tags=_source_tags(params["source"]))
    data_uri = run_uri(generate.info.run_id, LOANS_ARTIFACT)
    train = _step("train", {"data_uri": data_uri, **{k: params[k] for k in model_keys}},
                  experiment_id, env_manager)
    tune_params = {k: params[k] for k in tune_keys if k != "tune_model"}
    tune = _step("tune", {"data_uri": data_uri, "model": params["tune_model"], **tune_params},
                 experiment_id, env_manager)

    best = max((train, tune), key=lambda r: r.data.metrics.get("roc_auc", float("-inf")))
    log.info("better holdout ROC AUC: %s run %s (%.4f vs %.4f)",
             best.data.tags.get("mlflow.project.entryPoint"), best.info.run_id,
             train.data.metrics.get("roc_auc", float("nan")),
             tune.data.metrics.get("roc_auc", float("nan")))
    register = _step("register", {"run_id": best.info.run_id, "model_name": params["model_name"]},
                     experiment_id, env_manager, reuse=False)
    version = register.data.params["registered_version"]
    _step("promote", {"model_name": params["model_name"], "version": version,
                      "stage": params["stage"], "force": params["force"],
                      "reason": params["reason"]},
          experiment_id, env_manager, reuse=False)
    mlflow.log_params({"registered_version": version, "best_run_id": best.info.run_id})
    return {"generate": generate.info.run_id, "train": train.info.run_id,
            "tune": tune.info.run_id, "best": best.info.run_id, "version": version}
