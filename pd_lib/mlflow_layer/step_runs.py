"""The run a step logs to: started or attached, named, tagged (entry point, code, process,
cores) after the store is prepared and reached; zombie runs of dead processes marked FAILED."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, TAG_CODE_FINGERPRINT, TAG_GIT_COMMIT, TAG_THREADS
from pd_lib.cores import take_step_share
from pd_lib.errors import PipelineError, first_line, mask_secrets
from pd_lib.mlflow_layer.fingerprint import code_fingerprint, git_commit
from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_ENTRY_POINT, MLFLOW_RUN_NAME
from pd_lib.mlflow_layer.store import prepare_store
from pd_lib.process import process_alive, process_start

log = logging.getLogger("pd_pipeline")

ENTRY_POINT_TAG = MLFLOW_PROJECT_ENTRY_POINT
RUN_NAME_TAG = MLFLOW_RUN_NAME


@contextlib.contextmanager
def step_run(entry_point: str, run_name: str = "") -> Iterator[mlflow.ActiveRun]:
    """The run a step logs to, named ``run_name`` (default: the entry point's name; see
    :func:`rename_run` for names known only at the end, such as a registered version).

    Under ``mlflow run`` the run already exists (MLFLOW_RUN_ID), in whatever experiment
    ``mlflow run`` chose: attach to it and do not call set_experiment, which would crash
    ("active experiment ID does not match environment run ID"). Run directly with python,
    the step logs to PD_Classification_Experiment (or MLFLOW_EXPERIMENT_NAME / _ID).
    A PipelineError marks the run FAILED and propagates. The step takes its cores first
    (:mod:`pd_lib.cores`: main's share, else the idle usable cores); tagged ``pd.threads``.
    """
    prepare_store()
    check_store_reachable()
    if not os.environ.get("MLFLOW_RUN_ID"):
        if not (os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_ID")):
            mlflow.set_experiment(EXPERIMENT_NAME)
    threads = take_step_share()
    # Nested when main runs this step in its own process (pd_lib.mlflow_layer.runner.inprocess):
    # main's run is active there, and MLFLOW_RUN_ID names the step's run that main created for it.
    nested = mlflow.active_run() is not None
    run_name = run_name or entry_point
    with mlflow.start_run(nested=nested) as run:
        # mlflow run names its run at random (amazing-trout-910): name it for what it does.
        tags = {RUN_NAME_TAG: run_name, TAG_CODE_FINGERPRINT: code_fingerprint(),
                TAG_GIT_COMMIT: git_commit(), TAG_THREADS: str(threads), **process_tags()}
        if ENTRY_POINT_TAG not in run.data.tags:  # run directly with python, not mlflow run
            tags[ENTRY_POINT_TAG] = entry_point
        mlflow.set_tags(tags)
        fail_dead_runs(run.info.experiment_id, run.info.run_id)
        log.info("%s: run %s (%s) in experiment %s", entry_point, run.info.run_id, run_name,
                 run.info.experiment_id)
        if run.info.experiment_id == "0":
            log.info("this run is in the Default experiment; add --experiment-name %s to "
                     "mlflow run to keep the pipeline's runs together", EXPERIMENT_NAME)
        yield run


def rename_run(run_name: str) -> None:
    """Give the active run a name known only at its end (``register-pd_model_v1-v3``)."""
    mlflow.set_tag(RUN_NAME_TAG, run_name)


TAG_HOST, TAG_PID, TAG_PID_START = "pd.host", "pd.pid", "pd.pid_start"
TAG_NOTE = "pd.note"


def process_tags() -> dict[str, str]:
    """Which process runs the step: host, pid and the pid's start time (see fail_dead_runs)."""
    pid = os.getpid()
    return {TAG_HOST: socket.gethostname(), TAG_PID: str(pid), TAG_PID_START: process_start(pid)}


def fail_dead_runs(experiment_id: str, own_run_id: str) -> list[str]:
    """Mark FAILED, with a note, the experiment's runs still RUNNING whose process ran on this
    host and is gone (killed, or the machine slept through it): a killed step's run would
    otherwise stay RUNNING forever. Returns their ids."""
    client = MlflowClient()
    host = socket.gethostname()
    runs = client.search_runs(
        [experiment_id], f"attributes.status = 'RUNNING' and tags.`{TAG_HOST}` = '{host}'",
        max_results=100)
    failed = []
    for run in runs:
        pid = run.data.tags.get(TAG_PID, "")
        if run.info.run_id == own_run_id or not pid.isdigit() or process_alive(
                int(pid), run.data.tags.get(TAG_PID_START, "")):
            continue
        client.set_tag(run.info.run_id, TAG_NOTE, f"marked FAILED by run {own_run_id}: its "
                       f"process {pid} on {host} ended without finishing the run (killed?)")
        client.set_terminated(run.info.run_id, "FAILED")
        log.warning("run %s was still RUNNING but its process %s is gone; marked FAILED",
                    run.info.run_id, pid)
        failed.append(run.info.run_id)
    return failed


def check_store_reachable() -> None:
    """One cheap request, so an unreachable server or a wrong store is one clear line (with
    any password in the URI masked), not a traceback from the first write."""
    uri = mlflow.get_tracking_uri()
    try:
        MlflowClient().search_experiments(max_results=1)
    except Exception as exc:  # requests, SQLAlchemy and MLflow each raise their own type
        raise PipelineError(
            f"cannot reach the tracking store {mask_secrets(uri)} "
            f"({mask_secrets(first_line(exc))}); check MLFLOW_TRACKING_URI, that the server "
            "runs and your credentials."
        ) from None
