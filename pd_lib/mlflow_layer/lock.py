"""The promote lock: one promotion of a registered model at a time, across every client."""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import time
from collections.abc import Iterator

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.errors import PipelineError

log = logging.getLogger("pd_pipeline")


LOCK_SUFFIX = ".promote-lock"


LOCK_WAIT_SECONDS = 120.0


LOCK_STALE_SECONDS = 600.0


@contextlib.contextmanager
def promote_lock(model_name: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the registry-wide promote lock for ``model_name``.

    The lock is a registered model named ``<model_name>.promote-lock``: creating a registered
    model is atomic in every MLflow store (a unique key in SQLite and PostgreSQL), so exactly
    one client can hold it. MLflow's own stage transition does not serialise two clients:
    with ``archive_existing_versions`` two racing promotes can both end in Production.
    A lock older than LOCK_STALE_SECONDS (a crashed holder) is broken.
    """
    client = MlflowClient()
    lock_name = model_name + LOCK_SUFFIX
    holder = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            client.create_registered_model(lock_name, description=f"held by {holder}")
            break
        except MlflowException as exc:
            if not _lock_was_taken(exc):
                raise
        _break_stale_lock(client, lock_name)
        if time.monotonic() > deadline:
            raise PipelineError(
                f"another promote of '{model_name}' holds the lock '{lock_name}' for over "
                f"{wait_seconds:.0f} s; retry later, or delete that registered model if its "
                "holder crashed."
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    try:
        yield
    finally:
        with contextlib.suppress(MlflowException):
            client.delete_registered_model(lock_name)


def _lock_was_taken(exc: MlflowException) -> bool:
    """Whether creating the lock failed because another client holds it, or held it a moment
    ago: MLflow's SQL store answers a unique-key clash by reading the existing row, and when
    its holder deletes it in between, the create fails with RESOURCE_DOES_NOT_EXIST instead of
    RESOURCE_ALREADY_EXISTS (seen racing two clients on a PostgreSQL-backed server: 4 in 300
    acquisitions). Both mean: not ours yet, try again."""
    code = str(exc.error_code)
    return ("RESOURCE_ALREADY_EXISTS" in code or "RESOURCE_DOES_NOT_EXIST" in code
            or "already exists" in str(exc))


def _break_stale_lock(client: MlflowClient, lock_name: str) -> None:
    with contextlib.suppress(MlflowException):
        lock = client.get_registered_model(lock_name)
        if time.time() - lock.creation_timestamp / 1000.0 > LOCK_STALE_SECONDS:
            log.warning("breaking stale promote lock %s (%s)", lock_name, lock.description)
            client.delete_registered_model(lock_name)
