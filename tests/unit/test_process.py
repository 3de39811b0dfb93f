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
