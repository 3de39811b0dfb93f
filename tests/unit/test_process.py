"""A step process's start and exit (pd_lib.process): scipy.special is imported before the
heavy libraries once a step runs (skops then imports faster), and every live object is frozen
only after the other atexit handlers have run (so finalisation skips its full collections)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import PROJECT_ROOT


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.split()


STEP_BODY = """
import sys, click
from steps.options import StepCommand

@click.command(cls=StepCommand)
def step():
    print("scipy.special" in sys.modules, "mlflow" in sys.modules, "sklearn" in sys.modules)

step([], standalone_mode=False)
"""


def test_a_running_step_has_scipy_special_before_its_body_imports_anything_heavy():
    assert _run(STEP_BODY) == ["True", "False", "False"]


FREEZE_ORDER = """
import atexit, gc
atexit.register(lambda: print("earlier", gc.get_freeze_count() > 0, flush=True))
import steps
atexit.register(lambda: print("later", gc.get_freeze_count(), flush=True))
"""


def test_objects_are_frozen_after_the_handlers_registered_later_and_before_earlier_ones():
    # atexit runs last-registered first: "later" sees nothing frozen, "earlier" (registered
    # before steps was imported) runs after the freeze.
    assert _run(FREEZE_ORDER) == ["later", "0", "earlier", "True"]


PRELOAD_ORDER = """
import importlib, sys
from steps.main import BACKGROUND_PRELOAD
for name in BACKGROUND_PRELOAD:
    importlib.import_module(name)
order = list(sys.modules)
print(order.index("scipy.special") < order.index("sklearn") < order.index("skops.io"),
      order.index("scipy.special") < order.index("mlflow"))
"""


def test_the_step_server_imports_scipy_special_before_scikit_learn_mlflow_and_skops():
    assert _run(PRELOAD_ORDER) == ["True", "True"]


SIGTERM_TWICE = """
import os, signal, sys
from pd_lib.errors import Terminated
from pd_lib.process import stop_cleanly_on_sigterm
stop_cleanly_on_sigterm()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()
except Terminated:
    print("cleaned up", flush=True)
os.kill(os.getpid(), signal.SIGTERM)  # the second one ends the process at once
signal.pause()
print("never", flush=True)
"""


def test_sigterm_unwinds_as_terminated_once_and_a_second_one_ends_the_process():
    done = subprocess.run([sys.executable, "-c", SIGTERM_TWICE], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[0] == "cleaned up" and "never" not in done.stdout
    assert done.returncode == -15


OWN_HANDLER = """
import signal
from pd_lib.process import stop_cleanly_on_sigterm
mine = lambda signum, frame: None
signal.signal(signal.SIGTERM, mine)
stop_cleanly_on_sigterm()
print(signal.getsignal(signal.SIGTERM) is mine)
"""


def test_a_sigterm_handler_of_someone_elses_is_left_alone():
    assert _run(OWN_HANDLER) == ["True"]


STEP_TERMINATED = """
import os, signal, click
from steps.options import StepCommand

@click.command(cls=StepCommand)
def step():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
    finally:
        print("closing runs", flush=True)

step([])
"""


def test_a_step_stopped_by_sigterm_unwinds_says_so_in_one_line_and_exits_143():
    done = subprocess.run([sys.executable, "-c", STEP_TERMINATED], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "closing runs\n"
    assert done.stderr.startswith("error: stopped by SIGTERM;") and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert done.returncode == 143


STEP_INTERRUPTED_IN_A_CALLBACK = """
import os, signal, time, weakref, click
from steps.options import StepCommand

class Pool:
    pass

@click.command(cls=StepCommand)
def step():
    pool = Pool()
    # as a thread pool's weak reference does while MLflow closes a run: Python cannot stop there
    gone = weakref.ref(pool, lambda _: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.5)))
    del pool
    print("went on", flush=True)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        signal.pause()
    finally:
        print("closing runs", flush=True)

step()
"""


def test_ctrl_c_dropped_by_a_callback_is_one_line_and_the_next_one_stops_the_step():
    done = subprocess.run([sys.executable, "-c", STEP_INTERRUPTED_IN_A_CALLBACK],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout == "went on\nclosing runs\n"
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    warning, error = done.stderr.splitlines()
    assert warning.startswith("warning: Ctrl-C arrived inside a clean-up callback")
    assert error.startswith("error: stopped by Ctrl-C (SIGINT);")
    assert done.returncode == 130


STEP_INTERRUPTED_IN_PROCESS = """
import signal, click
from steps.options import StepCommand

@click.command(cls=StepCommand)
def step():
    print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)

step([], standalone_mode=False)
"""


def test_a_step_called_in_process_leaves_ctrl_c_to_its_caller():
    """CliRunner and main call steps with arguments: the SIGINT handler stays the caller's,
    so no handler of a step leaks into a test run or its children."""
    assert _run(STEP_INTERRUPTED_IN_PROCESS) == ["True"]


STEP_TERMINATED_IN_A_CALLBACK = """
import os, signal, time, weakref, click
from steps.options import StepCommand

class Pool:
    pass

@click.command(cls=StepCommand)
def step():
    try:
        pool = Pool()
        # main's cancel of tune landed here once: dropped, tune ran on and exited 0
        gone = weakref.ref(pool, lambda _: (os.kill(os.getpid(), signal.SIGTERM),
                                            time.sleep(0.5)))
        del pool
        time.sleep(5)
        print("never", flush=True)
    finally:
        print("closing runs", flush=True)

step([])
"""


def test_a_sigterm_dropped_by_a_callback_is_delivered_again_and_stops_the_step():
    done = subprocess.run([sys.executable, "-c", STEP_TERMINATED_IN_A_CALLBACK],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout == "closing runs\n"
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: stopped by SIGTERM;")
    assert done.returncode == 143
