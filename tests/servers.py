"""Helpers for tests that start real servers: free loopback ports, waiting, stopping, and
skipping (or, in CI, failing) when a system component is not installed."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

LOOPBACK = "127.0.0.1"
# .ci/run sets this: there a missing PostgreSQL or Java is a failure, not a skip.
REQUIRE_ENV = "PD_REQUIRE_SYSTEM_DEPS"


def require(condition: bool, what: str) -> None:
    """Skip the test when ``what`` is missing; fail instead when PD_REQUIRE_SYSTEM_DEPS=1."""
    if condition:
        return
    message = f"{what} is not installed; run .ci/install-system-deps.sh"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message)
    pytest.skip(message)


_PR_SET_PDEATHSIG = 1


def exit_with_parent(sig: int = signal.SIGTERM, uid: int | None = None,
                     gid: int | None = None) -> Callable[[], None] | None:
    """A Popen ``preexec_fn``: in the child, optionally become ``uid``/``gid`` (no supplementary
    groups), then have Linux send ``sig`` to it when the test process dies, so a pytest killed
    by a timeout leaves no server behind. (Set after the uid change, which clears it.)"""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180.0,
                  auth: tuple[str, str] | None = None) -> None:
    """Poll ``url`` until it answers 200; fail with the log tail if the process dies or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{tail(log)}")
        try:
            if requests.get(url, timeout=5, auth=auth).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{tail(log)}")


def stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM the process (started with start_new_session=True), then SIGKILL its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever of its process group is left (uvicorn workers, spark JVMs)
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=timeout)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def served_model(model_uri: str, workdir: Path, tracking_uri: str,
                 command: list[str] | None = None) -> Iterator[str]:
    """``mlflow models serve`` of ``model_uri`` (or ``command`` + ``--model-uri``, e.g.
    ``python -m steps.serve``) on a free loopback port, its log in ``workdir``; yields its
    base URL once it answers, stops it on the way out."""
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    if command is None:
        argv = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
                "--env-manager", "local", "-h", LOOPBACK, "-p", str(port)]
    else:
        argv = [*command, "--model-uri", model_uri, "--host", LOOPBACK, "--port", str(port)]
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    log = workdir / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=exit_with_parent())
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for_http(f"{url}/ping", process, log)
        yield url
    finally:
        stop(process)
