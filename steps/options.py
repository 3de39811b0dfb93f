"""Click options from pd_lib.params: names match MLproject's parameters (kebab-case)."""

from __future__ import annotations

from collections.abc import Callable

import click

from pd_lib import params
from pd_lib.params import Param


def option(param: Param) -> Callable:
    """The click option of one parameter: ``--kebab-name``, its type, default and help."""
    kind = click.Choice(param.choices) if param.choices else param.type
    return click.option(f"--{param.name.replace('_', '-')}", param.name, type=kind,
                        default=param.default, required=param.required,
                        show_default=param.default not in ("", None), help=param.help)


def options(*group: Param) -> Callable:
    """One decorator that adds the options of ``group``, in order."""
    def apply(func: Callable) -> Callable:
        for param in reversed(group):
            func = option(param)(func)
        return func

    return apply


def entry_point_options(entry_point: str) -> Callable:
    """The options of one MLproject entry point, as pd_lib.params declares them."""
    return options(*params.ENTRY_POINTS[entry_point])
