"""The tracking store before a step's first write: a new SQLite store created and migrated
once under a file lock, and an SQLite file checked (a file, a database, writable)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from pathlib import Path

import mlflow
from sqlalchemy.exc import SQLAlchemyError

from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.mlflow_internals import create_sqlite_store, migrate_store

log = logging.getLogger("pd_pipeline")


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
