"""The pipe between main and its background step (pd_lib.mlflow_layer.background): a
CORES_FREED message makes the step choose its threads again at its next fit; main's end of
the pipe closing (main gone) makes the step SIGTERM itself. In a subprocess, whose signal
that is."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import PROJECT_ROOT

PIPE = """
import multiprocessing, signal, time
import pd_lib.threads as threads
from pd_lib.mlflow_layer.background import CORES_FREED, _exit_with_main

watch, lifeline = multiprocessing.Pipe(duplex=False)
_exit_with_main(watch)
print(threads._choose_again.is_set(), flush=True)
lifeline.send("something else")
time.sleep(0.5)
print(threads._choose_again.is_set(), flush=True)
lifeline.send(CORES_FREED)
deadline = time.monotonic() + 10
while not threads._choose_again.is_set() and time.monotonic() < deadline:
    time.sleep(0.05)
print(threads._choose_again.is_set(), flush=True)

def ended(signum, frame):
    print("SIGTERM", flush=True)
    raise SystemExit(0)

signal.signal(signal.SIGTERM, ended)
lifeline.close()  # main is gone
time.sleep(10)
print("still running", flush=True)
"""


def test_cores_freed_asks_for_a_new_thread_choice_and_a_closed_pipe_ends_the_step():
    done = subprocess.run([sys.executable, "-c", PIPE], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["False", "False", "True", "SIGTERM"], done.stderr
