"""Click scripts, one per MLproject entry point: parse options, call pd_lib, log.

(``team_server`` is the one script that is not an entry point: it starts the team's server.)
"""

from __future__ import annotations

import importlib

import click

from pd_lib.memory import avoid_hugepage_stalls
from pd_lib.process import skip_final_collections

avoid_hugepage_stalls()  # before any step imports numpy
skip_final_collections()  # registered first, so it runs after every other atexit handler


def step_command(module_name: str) -> click.Command:
    """The click command of ``steps.<name>``: the module attribute named ``<name>``."""
    module = importlib.import_module(module_name)
    command = getattr(module, module_name.rsplit(".", 1)[1], None)
    if not isinstance(command, click.Command):
        raise ValueError(f"{module_name} has no click command named like the module")
    return command
