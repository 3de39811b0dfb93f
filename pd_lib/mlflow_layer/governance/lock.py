"""The promote lock: one promotion of a registered model at a time, across every client.

The lock is a registered model named ``<model_name>.promote-lock``: creating a registered
model is atomic in every MLflow store (a unique key in SQLite and PostgreSQL), so exactly one
client can create it. MLflow's own stage transition does not serialise two clients: with
``archive_existing_versions`` two racing promotes can both end in Production.

The lock has an owner and a lease (the tag ``lock.owner``: who, on which host, which process,
a random token, since when, until when). A lock is abandoned when its lease has run out, or
when its holder ran on this host and that process is gone. An abandoned lock is taken over,
never deleted by a waiter: the waiter first creates ``<lock>.takeover-<token of the old
owner>`` (atomic, so one waiter per old owner wins), checks that the lock still carries that
token, writes itself in as owner and deletes the marker. A lock's other tags (the promotion
intent, :mod:`pd_lib.mlflow_layer.governance.promotion`) survive a takeover, so the new
owner can finish what the old one left.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.config import LOCK_SUFFIX, TAKEOVER_INFIX
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.governance.writes import RegistryWriter
from pd_lib.process import process_alive, process_start

log = logging.getLogger("pd_pipeline")

OWNER_TAG = "lock.owner"
# How long a promote waits for another one's lock (PD_LOCK_WAIT_SECONDS overrides): short,
# because a promotion takes seconds and an abandoned lock is taken over, not waited out.
LOCK_WAIT_SECONDS = 30.0
# How long a lock is valid without renewal (PD_LOCK_LEASE_SECONDS overrides). The holder
# renews it between its slow phases (loading models, the gate); a holder on another host that
# died is taken over when its lease runs out.
LOCK_LEASE_SECONDS = 300.0
WAIT_ENV = "PD_LOCK_WAIT_SECONDS"
LEASE_ENV = "PD_LOCK_LEASE_SECONDS"


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise PipelineError(f"{name} must be a number of seconds; got '{text}'.") from None
    if not value >= 0:
        raise PipelineError(f"{name} must be 0 or more seconds; got '{text}'.")
    return value


def lock_wait_seconds() -> float:
    return _seconds_from_env(WAIT_ENV, LOCK_WAIT_SECONDS)


def lock_lease_seconds() -> float:
    return _seconds_from_env(LEASE_ENV, LOCK_LEASE_SECONDS)


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock, and until when (epoch seconds)."""

    holder: str
    host: str
    pid: int
    started: str
    token: str
    since: float
    expires: float

    @classmethod
    def me(cls, lease: float) -> LockOwner:
        now, pid, host = time.time(), os.getpid(), socket.gethostname()
        return cls(holder=f"{getpass.getuser()}@{host} pid {pid}", host=host, pid=pid,
                   started=process_start(pid), token=secrets.token_hex(8), since=now,
                   expires=now + lease)

    def to_tag(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_model(cls, model) -> LockOwner:
        """The owner written on a lock model; for a lock without one (written by an older
        version of this code), its creator with a lease from its creation time."""
        with contextlib.suppress(ValueError, TypeError, KeyError):
            return cls(**json.loads(model.tags[OWNER_TAG]))
        since = (model.creation_timestamp or 0) / 1000.0
        return cls(holder=model.description or "unknown", host="", pid=0, started="",
                   token=f"legacy{int(since * 1000)}", since=since,
                   expires=since + lock_lease_seconds())

    def abandoned(self, now: float | None = None) -> bool:
        """Lease run out, or a holder on this host whose process is gone."""
        now = time.time() if now is None else now
        if now > self.expires:
            return True
        return self.host == socket.gethostname() and not process_alive(self.pid, self.started)

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        return (f"{self.holder}, held for {max(now - self.since, 0):.0f} s, lease ends in "
                f"{self.expires - now:.0f} s")


def _conflict(exc: MlflowException) -> bool:
    """Whether creating a lock failed because another client holds it, or held it a moment
    ago: MLflow's SQL store answers a unique-key clash by reading the existing row, and when
    its holder deletes it in between, the create fails with RESOURCE_DOES_NOT_EXIST instead of
    RESOURCE_ALREADY_EXISTS (seen racing two clients on a PostgreSQL-backed server: 4 in 300
    acquisitions). Both mean: not ours yet, try again."""
    code = str(exc.error_code)
    return ("RESOURCE_ALREADY_EXISTS" in code or "RESOURCE_DOES_NOT_EXIST" in code
            or "already exists" in str(exc))


class PromoteLock:
    """The lock of one registered model; ``acquire`` it, then read and write its tags."""

    def __init__(self, model_name: str, writer: RegistryWriter | None = None) -> None:
        self.model_name = model_name
        self.name = model_name + LOCK_SUFFIX
        self.writer = writer or RegistryWriter()
        self.owner: LockOwner | None = None

    # --- reading ---

    def read(self, name: str | None = None):
        """The lock's registered model, or None when nobody holds it."""
        try:
            return self.writer.client.get_registered_model(name or self.name)
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code):
                return None
            raise

    def tag(self, key: str) -> str | None:
        model = self.read()
        return None if model is None else model.tags.get(key)

    # --- taking ---

    def try_create(self) -> bool:
        # Our owner is known before the write: a Ctrl-C the moment it lands still releases.
        self.owner = owner = LockOwner.me(lock_lease_seconds())
        try:
            self.writer.create_model(self.name, {OWNER_TAG: owner.to_tag()},
                                     f"promote lock held by {owner.holder}")
        except MlflowException as exc:
            self.owner = None
            if _conflict(exc):
                return False
            raise
        return True

    def try_take_over(self, name: str | None = None, depth: int = 0) -> bool:
        """Take over the lock ``name`` (default: this one) if it is abandoned; compare its
        owner's token, never check-then-delete."""
        name = name or self.name
        model = self.read(name)
        if model is None or depth > 3:
            return False
        stale = LockOwner.from_model(model)
        if not stale.abandoned():
            return False
        marker = name + TAKEOVER_INFIX + stale.token
        mine = LockOwner.me(lock_lease_seconds())
        try:
            self.writer.create_model(marker, {OWNER_TAG: mine.to_tag()},
                                     f"{mine.holder} takes over from {stale.holder}")
        except MlflowException as exc:
            # Someone else is taking it over, or died doing so: take their marker over first.
            if not _conflict(exc) or not self.try_take_over(marker, depth + 1):
                return False
        try:
            current = self.read(name)
            if current is None or LockOwner.from_model(current).token != stale.token:
                return False
            if name == self.name:
                self.owner = mine  # before the write, as in try_create
            try:
                self.writer.set_model_tag(name, OWNER_TAG, mine.to_tag())
            except MlflowException as exc:
                self.owner = None
                if "PERMISSION_DENIED" not in str(exc.error_code):
                    raise
                raise PipelineError(
                    f"the promote lock '{name}' was abandoned by {stale.describe()}, and you "
                    "may not take it over (no EDIT permission on it); ask its holder or an "
                    "admin to promote again, which finishes or rolls back that promotion."
                ) from None
        finally:
            with contextlib.suppress(MlflowException):
                self.writer.delete_model(marker)
        log.warning("took over the abandoned lock %s from %s", name, stale.describe())
        return True

    def acquire(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        delay = 0.05
        while not (self.try_create() or self.try_take_over()):
            if time.monotonic() > deadline:
                model = self.read()
                holder = LockOwner.from_model(model).describe() if model else "nobody now"
                raise PipelineError(
                    f"another promote of '{self.model_name}' holds the lock '{self.name}' "
                    f"({holder}); waited {wait_seconds:.0f} s ({WAIT_ENV} sets the wait). "
                    "Retry later; an abandoned lock is taken over automatically."
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    # --- holding ---

    def holds(self) -> bool:
        model = self.read()
        return (model is not None and self.owner is not None
                and LockOwner.from_model(model).token == self.owner.token)

    def renew(self) -> None:
        """Extend the lease by a full lease from now (call between slow phases)."""
        if self.owner is None:
            return
        if not self.holds():
            raise PipelineError(f"lost the promote lock '{self.name}' (its lease ran out and "
                                "another promote took it over); nothing of ours was moved.")
        owner = LockOwner(**{**asdict(self.owner), "expires": time.time() + lock_lease_seconds()})
        self.writer.set_model_tag(self.name, OWNER_TAG, owner.to_tag())
        self.owner = owner

    def abandon(self) -> None:
        """End the lease now without deleting the lock, so that the next promote takes it
        over at once and finishes what it holds (best effort)."""
        if self.owner is None:
            return
        owner = LockOwner(**{**asdict(self.owner), "expires": 0.0})
        with contextlib.suppress(Exception):
            if self.holds():
                self.writer.set_model_tag(self.name, OWNER_TAG, owner.to_tag())

    def release(self) -> None:
        """Delete the lock if it is still ours."""
        with contextlib.suppress(MlflowException):
            if self.holds():
                self.writer.delete_model(self.name)
        self.owner = None


@contextlib.contextmanager
def promote_lock(model_name: str, wait_seconds: float | None = None) -> Iterator[PromoteLock]:
    """Hold the registry-wide promote lock for ``model_name``; released on the way out unless
    the block leaves a pending promotion intent on it (then its lease is ended instead, so
    the next promote finishes or rolls back that promotion)."""
    lock = PromoteLock(model_name)
    try:
        # acquire inside: a Ctrl-C right after the lock's write still lets it go
        lock.acquire(lock_wait_seconds() if wait_seconds is None else wait_seconds)
        yield lock
    finally:
        if lock.owner is not None:  # it took the lock (or was stopped as it did)
            _let_go(lock)


def _let_go(lock: PromoteLock) -> None:
    """Release ``lock``, or end its lease when it carries a pending promotion intent."""
    try:
        pending = lock.tag(INTENT_TAG) is not None
    except Exception:  # cannot tell: let the next promote look
        pending = True
    if not pending:
        lock.release()
    else:
        lock.abandon()


INTENT_TAG = "promotion.intent"


def lock_exists(model_name: str, client: MlflowClient | None = None) -> bool:
    return PromoteLock(model_name, RegistryWriter(client)).read() is not None
