"""promote: move a model version to Staging, Production or Archived, aliases in step.

To Production only through the champion gate (or --force with --reason).
"""

from __future__ import annotations

import click

from pd_lib import registry
from pd_lib.errors import exit_on_user_error
from pd_lib.tracking import log_params_once, setup_logging, step_run
from steps.options import promote_options


@click.command(help=__doc__)
@click.option("--version", default="", help="Version number; empty: the newest.")
@promote_options
@exit_on_user_error
def promote(model_name: str, version: str, stage: str, force: bool, reason: str) -> None:
    setup_logging()
    with step_run("promote"):
        log_params_once({"model_name": model_name, "version": version, "stage": stage,
                         "force": force, "reason": reason})
        promoted = registry.promote(model_name, version, stage, force=force, reason=reason)
        click.echo(f"{model_name} version {promoted.version} is now {promoted.current_stage} "
                   f"(aliases: {', '.join(promoted.aliases) or 'none'})")


if __name__ == "__main__":
    promote()
