"""Finding and reusing finished runs, like ``_get_or_run`` in mlflow's multistep example.

Without that example's bugs: parameters are compared as MLflow stores them (strings), the
code fingerprint must match (not only the git commit, which misses uncommitted edits), the
newest matching run wins, and every declared parameter counts, defaults included.
"""

from __future__ import annotations

import logging
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from pd_lib.config import PROJECT_ROOT, TAG_CODE_FINGERPRINT
from pd_lib.mlflow_layer.fingerprint import code_fingerprint
from pd_lib.mlflow_layer.run_params import as_mlflow_param
from pd_lib.mlflow_layer.runner.inprocess import CommandLoader, run_in_process
from pd_lib.mlflow_layer.runner.step_modes import runs_in_process
from pd_lib.mlflow_layer.step_runs import ENTRY_POINT_TAG
from pd_lib.mlproject import entry_point_defaults  # the table's defaults, as mlflow run logs them

log = logging.getLogger("pd_pipeline")


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def full_params(entry_point: str, overrides: dict[str, Any]) -> dict[str, str]:
    """Every declared parameter of ``entry_point``: its default (pd_lib.params, as ``mlflow
    run`` logs it) unless ``overrides`` has it."""
    params = entry_point_defaults(entry_point)
    unknown = set(overrides) - set(params)
    if unknown:
        raise ValueError(f"{entry_point} declares no parameters {sorted(unknown)}")
    params.update({k: _raw(v) for k, v in overrides.items()})
    return params


def find_finished_run(
    experiment_id: str,
    entry_point: str,
    params: dict[str, str],
    fingerprint: str | None = None,
    tags: dict[str, str] | None = None,
) -> Run | None:
    """The newest FINISHED run of ``entry_point`` with exactly these params, code and tags.

    Parameters are compared as ``mlflow run`` stores them: str(), then shell-quoted.
    ``tags`` adds keys the run must carry (a user file's SHA-256, say).
    """
    required = {ENTRY_POINT_TAG: entry_point,
                TAG_CODE_FINGERPRINT: fingerprint or code_fingerprint(), **(tags or {})}
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=" and ".join(
            [f"tags.`{k}` = '{v}'" for k, v in required.items()]
            + ["attributes.status = 'FINISHED'"]
        ),
        order_by=["attributes.start_time DESC"],
        max_results=200,
    )
    for run in runs:
        if (all(run.data.params.get(k) == as_mlflow_param(v) for k, v in params.items())
                and not mistyped_params(run)):
            return run
    return None


def mistyped_params(run: Run) -> list[str]:
    """Parameters a run carries that no entry point declares with that spelling: ``mlflow
    run`` logs an undeclared ``-P n-samples=500`` as it is (the steps now refuse it, runs from
    before did not). Our own names are snake_case, so any name with a '-' is one."""
    return sorted(k for k in run.data.params if "-" in k)


def describe(run: Run) -> str:
    """What a run holds, in a few words: its rows and source, or its model kind."""
    params, metrics = run.data.params, run.data.metrics
    parts = [f"{int(metrics['rows']):,} loans" if "rows" in metrics else "",
             f"source {params['source']}" if "source" in params else "",
             f"model {params['model']}" if "model" in params else "",
             f"holdout AUC {metrics['roc_auc']:.4f}" if "roc_auc" in metrics else ""]
    return ", ".join(p for p in parts if p)


def reusable_run(entry_point: str, params: dict[str, str], experiment_id: str,
                 tags: dict[str, str] | None = None) -> Run | None:
    """A finished run of the entry point to reuse (:func:`find_finished_run`), said in the
    log, or None."""
    found = find_finished_run(experiment_id, entry_point, params, tags=tags)
    if found is not None:
        log.info("reusing finished %s run %s (%s)", entry_point, found.info.run_id,
                 describe(found))
    return found


def get_or_run(
    entry_point: str,
    params: dict[str, str],
    experiment_id: str,
    env_manager: str,
    load_command: CommandLoader,
    reuse: bool = True,
    tags: dict[str, str] | None = None,
) -> tuple[Run, bool]:
    """Reuse a finished matching run, else run the entry point; returns (run, reused).

    With the local env manager the entry point runs in this process
    (:mod:`pd_lib.mlflow_layer.runner.inprocess`), else as an ``mlflow run`` subprocess in its own
    environment.
    """
    if reuse and (found := reusable_run(entry_point, params, experiment_id, tags)) is not None:
        return found, True
    if runs_in_process(env_manager):
        log.info("running %s in this process (env manager local)", entry_point)
        run_id = run_in_process(PROJECT_ROOT, entry_point, params, experiment_id, load_command)
        return MlflowClient().get_run(run_id), False
    log.info("running %s (env manager %s)", entry_point, env_manager)
    submitted = mlflow.projects.run(
        str(PROJECT_ROOT),
        entry_point=entry_point,
        parameters=params,
        experiment_id=experiment_id,
        env_manager=env_manager,
        synchronous=True,
    )
    return MlflowClient().get_run(submitted.run_id), False
