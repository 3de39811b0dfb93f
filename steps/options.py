"""Click options from pd_lib.params: names match MLproject's parameters (kebab-case)."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable

import click

from pd_lib import params
from pd_lib.errors import (
    INTERRUPTED_EXIT_CODE,
    TERMINATED_EXIT_CODE,
    USER_ERROR_EXIT_CODE,
    Interrupted,
    PipelineError,
    Terminated,
    mask_secrets,
)
from pd_lib.params import Param, check_values
from pd_lib.process import (
    ignore_late_interrupts,
    import_scipy_special_first,
    stop_cleanly_on_sigint,
    stop_cleanly_on_sigterm,
)


class OneLineUsageError(click.ClickException):
    """A bad option, shown as the steps show every user error: one ``error:`` line, exit 2
    (click's own shows the usage block and ``Error:``)."""

    exit_code = USER_ERROR_EXIT_CODE

    def show(self, file=None) -> None:
        click.echo(f"error: {mask_secrets(self.format_message())} (--help lists the options)",
                   file=file, err=True)


class StepCommand(click.Command):
    """A step's click command whose option errors are one line (see OneLineUsageError), and
    which a SIGTERM stops cleanly (pd_lib.process.stop_cleanly_on_sigterm)."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """As click's, plus: stopped by SIGTERM or Ctrl-C, one ``error:`` line and exit 143
        or 130. Called by main for an in-process step (not standalone), Terminated goes on up
        to main's own. Run as a program (no args given: not CliRunner, not main), its Ctrl-C
        handling is installed (pd_lib.process.stop_cleanly_on_sigint), and a Ctrl-C once the
        work is done is ignored."""
        as_program = standalone_mode and not args and kwargs.get("args") is None
        if as_program:
            stop_cleanly_on_sigint()
        try:
            return super().main(*args, standalone_mode=standalone_mode, **kwargs)
        except Terminated as stop:
            if not standalone_mode:
                raise
            how, code = (("by Ctrl-C (SIGINT)", INTERRUPTED_EXIT_CODE)
                         if isinstance(stop, Interrupted) else ("by SIGTERM",
                                                                TERMINATED_EXIT_CODE))
            click.echo(f"error: stopped {how}; its unfinished runs are marked FAILED. Run "
                       "the command again (main reuses the steps that finished).", err=True)
            sys.exit(code)
        finally:
            if as_program:
                ignore_late_interrupts()

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            refuse_repeated_options(self, args)
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.Exit:
            raise
        except click.NoSuchOption as exc:
            raise OneLineUsageError(unknown_parameter_message(self, exc.option_name)) from None
        except click.ClickException as exc:
            raise OneLineUsageError(exc.format_message()) from None

    def invoke(self, ctx: click.Context):
        """Run the step once its values pass the checks that need nothing else
        (pd_lib.params.check_values: a bad range or name is refused before any heavy import),
        scipy.special imported first (pd_lib.process: skops then imports 1.3 s faster); not
        for --help or a refused option, which import nothing heavy."""
        try:
            check_values(ctx.params)
        except PipelineError as exc:
            raise OneLineUsageError(str(exc)) from None
        import_scipy_special_first()
        stop_cleanly_on_sigterm()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None


def _declared(command: click.Command) -> list[str]:
    return [p.name for p in command.params if isinstance(p, click.Option)]


def not_a_parameter(command: click.Command, name: str, why: str) -> str:
    """One line for ``-P name`` that the entry point does not declare (``mlflow run`` passes
    an undeclared ``-P name=value`` on as ``--name value``): why it shows, the declared name
    closest to it, and the entry point's parameters."""
    close = difflib.get_close_matches(name.replace("-", "_"), _declared(command), n=1,
                                      cutoff=0.6)
    return (f"-P {name} is not a parameter of {command.name} ({why}): "
            + (f"did you mean -P {close[0]}? " if close else "")
            + f"its parameters are {', '.join(_declared(command))}")


def unknown_parameter_message(command: click.Command, option_name: str) -> str:
    """:func:`not_a_parameter` for an option click does not know."""
    return not_a_parameter(command, option_name.lstrip("-"), f"no option {option_name}")


def refuse_repeated_options(command: click.Command, args: list[str]) -> None:
    """An option given twice is a -P typo: ``-P n-samples=500`` reaches the step as a second
    ``--n-samples`` after MLproject's own, and click would keep the last without a word."""
    seen: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if not arg.startswith("--"):
            continue
        flag = arg.split("=", 1)[0]
        if flag in seen:
            raise click.UsageError(not_a_parameter(
                command, flag[2:], f"MLflow passed it on as a second {flag}"))
        seen.add(flag)


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
