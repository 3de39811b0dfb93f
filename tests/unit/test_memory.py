"""numpy's huge-page advice is off in the steps' processes, unless the user asked for it."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from pd_lib.memory import ENV, avoid_hugepage_stalls
from tests.helpers import PROJECT_ROOT

PROBE = "import steps, numpy; print(numpy._core.multiarray._get_madvise_hugepage())"


def _advice_in_a_step_process(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if env_value is not None:
        env[ENV] = env_value
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, text=True,
                          capture_output=True, check=True)
    return done.stdout.strip()


LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="numpy advises only on Linux")


@LINUX_ONLY
def test_a_step_process_imports_numpy_without_the_advice():
    assert _advice_in_a_step_process(None) == "False"


@LINUX_ONLY
def test_the_users_own_setting_is_kept():
    assert _advice_in_a_step_process("1") == "True"


@LINUX_ONLY
def test_numpy_already_imported_is_switched_too(monkeypatch):
    switch = np._core.multiarray
    before = switch._get_madvise_hugepage()
    monkeypatch.delenv(ENV, raising=False)
    try:
        switch._set_madvise_hugepage(True)
        assert avoid_hugepage_stalls() is False
        assert switch._get_madvise_hugepage() is False
        monkeypatch.setenv(ENV, "1")
        assert avoid_hugepage_stalls() is True
        assert switch._get_madvise_hugepage() is True
    finally:
        switch._set_madvise_hugepage(before)
