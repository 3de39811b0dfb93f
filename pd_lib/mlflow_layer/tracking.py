"""MLflow plumbing: which experiment a step logs to, artifact passing by URI, code fingerprints."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import SQLAlchemyError

from pd_lib.config import (
    EXPERIMENT_NAME,
    PROJECT_ROOT,
    TAG_CODE_FINGERPRINT,
    TAG_GIT_COMMIT,
    TAG_THREADS,
)
from pd_lib.cores import take_step_share
from pd_lib.errors import PipelineError, first_line, mask_secrets
from pd_lib.mlflow_layer.mlflow_internals import (
    MLFLOW_PROJECT_ENTRY_POINT,
    MLFLOW_RUN_NAME,
    create_sqlite_store,
    migrate_store,
    quote_param,
)
from pd_lib.process import process_alive, process_start

log = logging.getLogger("pd_pipeline")

ENTRY_POINT_TAG = MLFLOW_PROJECT_ENTRY_POINT
RUN_NAME_TAG = MLFLOW_RUN_NAME
FINGERPRINTED = ("MLproject", "python_env.yaml", "requirements.txt", "steps", "pd_lib")


def setup_logging() -> None:
    """One log line per stage, on stderr, with a timestamp (and no download progress bars,
    which fill a log with carriage returns)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory when the
    URI is), or None for any other store or an in-memory database."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path).resolve() if path and path != ":memory:" else None


def prepare_store(uri: str | None = None, artifact_root: str = "") -> None:
    """Create and migrate a SQLite store under an OS file lock, once; other stores: nothing.

    Two first runs at once on a new ``mlflow.db`` both ran MLflow's migrations: one died, or
    the file was left half-migrated. Here the first process to take ``<db>.lock``
    (fcntl.flock, released by the OS if the process dies) creates and migrates the database;
    the others wait, then find it ready. Every step calls this first (:func:`step_run`);
    the team server too, with its ``artifact_root`` for the Default experiment (else
    MLflow's default, as a client's first call would use).
    """
    uri = uri or mlflow.get_tracking_uri()
    path = sqlite_path(uri)
    if path is None:
        return
    check_sqlite_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            if not _sqlite_store_ready(path):
                log.info("creating the MLflow store %s", path)
                if artifact_root:
                    create_sqlite_store(uri, artifact_root)
                else:
                    migrate_store(uri)
    except OSError as exc:
        raise PipelineError(f"cannot create the MLflow store {path} ({exc.strerror or exc}); "
                            "check that its directory is writable.") from None
    except (SQLAlchemyError, sqlite3.Error) as exc:  # a damaged file past its header
        raise PipelineError(f"the MLflow store {path} cannot be opened "
                            f"({first_line(getattr(exc, 'orig', None) or exc)}); restore it "
                            "from a backup, or set MLFLOW_TRACKING_URI to another file.") from None


SQLITE_HEADER = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """A SQLite store's file is a file (or not there yet), an SQLite database, and writable
    with its directory (every step writes its run; SQLite writes a journal beside the
    file): each otherwise one line, not SQLAlchemy's traceback from the first write."""
    if path.is_dir():
        raise PipelineError(f"the MLflow store {path} is a directory, not a database file; "
                            "set MLFLOW_TRACKING_URI to a file, e.g. "
                            f"sqlite:///{path / 'mlflow.db'}.")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise PipelineError(f"cannot read the MLflow store {path} ({exc.strerror or exc}); "
                            "check its permissions.") from None
    if header != SQLITE_HEADER:
        raise PipelineError(f"the MLflow store {path} is not an SQLite database (damaged, or "
                            "another kind of file); restore it from a backup, or set "
                            "MLFLOW_TRACKING_URI to another file.")
    for what, where in (("file", path), ("directory", path.parent)):
        if not os.access(where, os.W_OK):
            raise PipelineError(f"the MLflow store {path} is read-only (its {what} cannot be "
                                "written; every step records a run): make it writable, or set "
                                "MLFLOW_TRACKING_URI to a store you can write.")


def _sqlite_store_ready(path: Path) -> bool:
    """Whether the file holds a finished MLflow schema (an alembic version, no migration's
    temporary table left)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master "
                                                   "WHERE type = 'table'")}
            if "alembic_version" not in tables or any(t.startswith("_alembic_tmp")
                                                      for t in tables):
                return False
            return db.execute("SELECT count(*) FROM alembic_version").fetchone()[0] > 0
    except sqlite3.Error:
        return False


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
