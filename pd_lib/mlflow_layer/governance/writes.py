"""Every registry write of a promotion, through one client that counts them.

Why one place: a promotion is a sequence of writes (lock, intent, stages, aliases, tags,
release), and it must be recoverable after the process dies between any two of them: the
crash tests (tests/e2e/kill_at_write.py) wrap :meth:`RegistryWriter._do` to kill a real
process after any one write.
"""

from __future__ import annotations

from typing import Any

from mlflow.tracking import MlflowClient


class RegistryWriter:
    """The registry writes a promotion makes, each through :meth:`_do`."""

    def __init__(self, client: MlflowClient | None = None) -> None:
        self.client = client or MlflowClient()

    def _do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.client, method)(*args, **kwargs)

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
