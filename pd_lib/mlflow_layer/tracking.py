"""MLflow plumbing: which experiment a step logs to, artifact passing by URI, code fingerprints."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.config import (
    EXPERIMENT_NAME,
    PROJECT_ROOT,
    TAG_CODE_FINGERPRINT,
    TAG_GIT_COMMIT,
    TAG_THREADS,
)
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT, quote_param
from pd_lib.threads import limit_threads

log = logging.getLogger("pd_pipeline")

ENTRY_POINT_TAG = MLFLOW_PROJECT_ENTRY_POINT
FINGERPRINTED = ("MLproject", "python_env.yaml", "requirements.txt", "steps", "pd_lib")


def setup_logging() -> None:
    """One log line per stage, on stderr, with a timestamp."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
    )
    for noisy in ("alembic", "mlflow.store", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over the code a step runs: MLproject, env files, steps/ and pd_lib/ (.py only).

    MLflow records only the HEAD commit, even for a tree with uncommitted edits; this
    fingerprint changes with any edit, so an edited step is never served from a stale run.
    """
    digest = hashlib.sha256()
    for name in FINGERPRINTED:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """HEAD commit of the project, or "" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


@contextlib.contextmanager
def step_run(run_name: str) -> Iterator[mlflow.ActiveRun]:
    """The run a step logs to.

    Under ``mlflow run`` the run already exists (MLFLOW_RUN_ID), in whatever experiment
    ``mlflow run`` chose: attach to it and do not call set_experiment, which would crash
    ("active experiment ID does not match environment run ID"). Run directly with python,
    the step logs to PD_Classification_Experiment (or MLFLOW_EXPERIMENT_NAME / _ID).
    A PipelineError marks the run FAILED and propagates. Thread pools are limited first
    (:mod:`pd_lib.threads`); the count is tagged ``pd.threads``.
    """
    if not os.environ.get("MLFLOW_RUN_ID"):
        if not (os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_ID")):
            mlflow.set_experiment(EXPERIMENT_NAME)
    threads = limit_threads()
    # Nested when main runs this step in its own process (pd_lib.mlflow_layer.inprocess): main's
    # run is active there, and MLFLOW_RUN_ID names the step's run that main created for it.
    nested = mlflow.active_run() is not None
    with mlflow.start_run(run_name=None if os.environ.get("MLFLOW_RUN_ID") else run_name,
                          nested=nested) as run:
        tags = {TAG_CODE_FINGERPRINT: code_fingerprint(), TAG_GIT_COMMIT: git_commit(),
                TAG_THREADS: str(threads)}
        if ENTRY_POINT_TAG not in run.data.tags:  # run directly with python, not mlflow run
            tags[ENTRY_POINT_TAG] = run_name
        mlflow.set_tags(tags)
        log.info("%s: run %s in experiment %s", run_name, run.info.run_id,
                 run.info.experiment_id)
        if run.info.experiment_id == "0":
            log.info("this run is in the Default experiment; add --experiment-name %s to "
                     "mlflow run to keep the pipeline's runs together", EXPERIMENT_NAME)
        yield run


def log_params_once(params: dict[str, Any]) -> None:
    """Log the step's parameters that ``mlflow run`` has not logged already.

    ``mlflow run`` logs every declared parameter before the step starts, as typed on the
    command line; logging one again with another spelling fails (mlflow issue 3536).
    """
    run = mlflow.active_run()
    logged = MlflowClient().get_run(run.info.run_id).data.params
    mlflow.log_params({k: as_mlflow_param(v) for k, v in params.items() if k not in logged})


def as_mlflow_param(value: Any) -> str:
    """A parameter value exactly as ``mlflow run`` logs it: str(), then shell-quoted.

    (An empty string is stored as ``''``, a grid with ``;`` inside quotes.)
    """
    return quote_param("" if value is None else str(value))


def get_run(run_id: str) -> mlflow.entities.Run:
    """The run with this id (a ``runs:/<id>/...`` URI is accepted), or a clear error."""
    run_id = parse_run_id(run_id)
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        raise PipelineError(
            f"no run with id '{run_id}' in the tracking store {mlflow.get_tracking_uri()}; "
            "copy the id from mlflow ui or from the step's log."
        ) from None


def parse_run_id(run_ref: str) -> str:
    """A bare run id, from an id or a ``runs:/<id>[/path]`` URI."""
    run_ref = (run_ref or "").strip()
    if run_ref.startswith("runs:/"):
        run_ref = run_ref[len("runs:/"):].strip("/").split("/")[0]
    if not run_ref:
        raise PipelineError("no run id given; pass -P run_id=<id of a train or tune run>.")
    return run_ref
