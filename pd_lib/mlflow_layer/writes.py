"""Every registry write of a promotion, through one client that counts them.

Why one place: a promotion is a sequence of writes (lock, intent, stages, aliases, tags,
release), and it must be recoverable after the process dies between any two of them. The
count lets a test prove that, with a real signal: ``PD_TEST_KILL_AT_WRITE=<n>`` makes the
process send itself ``PD_TEST_KILL_SIGNAL`` (KILL or INT; default KILL) right after its n-th
registry write. Unset (always, outside tests), the counter does nothing else.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from mlflow.tracking import MlflowClient

KILL_AT_WRITE_ENV = "PD_TEST_KILL_AT_WRITE"
KILL_SIGNAL_ENV = "PD_TEST_KILL_SIGNAL"

_writes = {"count": 0}


def writes_so_far() -> int:
    """Registry writes this process has made through :class:`RegistryWriter`."""
    return _writes["count"]


def _after_write() -> None:
    _writes["count"] += 1
    target = os.environ.get(KILL_AT_WRITE_ENV, "")
    if target.isdigit() and _writes["count"] == int(target):
        name = os.environ.get(KILL_SIGNAL_ENV, "KILL").upper()
        os.kill(os.getpid(), getattr(signal, f"SIG{name}", signal.SIGKILL))


class RegistryWriter:
    """The registry writes a promotion makes; each one counted (see the module doc)."""

    def __init__(self, client: MlflowClient | None = None) -> None:
        self.client = client or MlflowClient()

    def _do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        _after_write()
        return result

    def create_model(self, name: str, tags: dict[str, str], description: str) -> Any:
        return self._do("create_registered_model", name, tags=tags, description=description)

    def delete_model(self, name: str) -> None:
        self._do("delete_registered_model", name)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._do("set_registered_model_tag", name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self._do("delete_registered_model_tag", name, key)

    def transition(self, name: str, version: str, stage: str) -> None:
        self._do("transition_model_version_stage", name, str(version), stage)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._do("set_registered_model_alias", name, alias, str(version))

    def delete_alias(self, name: str, alias: str) -> None:
        self._do("delete_registered_model_alias", name, alias)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._do("set_model_version_tag", name, str(version), key, value)
