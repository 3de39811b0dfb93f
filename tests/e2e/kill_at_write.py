"""A fault for the crash tests, installed from the test side: count the registry writes a
process makes through pd_lib's RegistryWriter, and send the process a real signal (KILL or
INT) right after its n-th. Production code carries no hook for it (issue 31).

    python -m tests.e2e.kill_at_write 3 KILL steps.promote --version 2 ...

runs the step's click command in this process with the fault installed.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from typing import Any

from pd_lib.mlflow_layer.governance.writes import RegistryWriter

_counted = {"writes": 0}


def writes_so_far() -> int:
    """Registry writes this process made since :func:`install` counted them."""
    return _counted["writes"]


def install(at_write: int = 0, signal_name: str = "KILL") -> None:
    """Count every registry write; with ``at_write`` > 0, signal this process after that one."""
    if getattr(RegistryWriter._do, "counted", False):
        RegistryWriter._do = RegistryWriter._do.original
    original = RegistryWriter._do

    def counted(self: RegistryWriter, method: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, method, *args, **kwargs)
        _counted["writes"] += 1
        if at_write and _counted["writes"] == at_write:
            os.kill(os.getpid(), getattr(signal, f"SIG{signal_name.upper()}"))
        return result

    counted.counted, counted.original = True, original
    RegistryWriter._do = counted


if __name__ == "__main__":
    position, name, module, *argv = sys.argv[1:]
    install(int(position), name)
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__")
