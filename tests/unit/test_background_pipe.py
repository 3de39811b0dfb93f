"""The pipe between main and its background step (pd_lib.mlflow_layer.runner.background): a
(GRANT, n) message gives the step n cores from its next fit on; main's end of
the pipe closing (main gone) makes the step SIGTERM itself. In a subprocess, whose signal
that is."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import PROJECT_ROOT

PIPE = """
import multiprocessing, signal, time
import pd_lib.cores as cores
from pd_lib.mlflow_layer.runner.background import GRANT, _exit_with_main

watch, lifeline = multiprocessing.Pipe(duplex=False)
_exit_with_main(watch)
print(cores._share.granted, flush=True)
lifeline.send("something else")
time.sleep(0.5)
print(cores._share.granted, flush=True)
lifeline.send((GRANT, 7))
deadline = time.monotonic() + 10
while cores._share.granted is None and time.monotonic() < deadline:
    time.sleep(0.05)
print(cores._share.granted, flush=True)

def ended(signum, frame):
    print("SIGTERM", flush=True)
    raise SystemExit(0)

signal.signal(signal.SIGTERM, ended)
lifeline.close()  # main is gone
time.sleep(10)
print("still running", flush=True)
"""


def test_a_grant_reaches_the_step_and_a_closed_pipe_ends_the_step():
    done = subprocess.run([sys.executable, "-c", PIPE], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["None", "None", "7", "SIGTERM"], done.stderr


def test_the_step_server_and_resource_tracker_can_be_stopped():
    """stop_step_server uses the private _stop of CPython's forkserver and resource tracker:
    pinned here, so a Python that renames them fails this test, not a user's main."""
    from multiprocessing import forkserver, resource_tracker

    assert callable(forkserver._forkserver._stop)
    assert callable(resource_tracker._resource_tracker._stop)
