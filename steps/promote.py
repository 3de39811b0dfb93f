"""promote: move a model version to Staging, Production or Archived, aliases in step.

To Production only through the champion gate (or --force with --reason).
"""

from __future__ import annotations

import click

from pd_lib.errors import exit_on_user_error
from pd_lib.mlflow_layer.monitoring import champion_monitoring_line
from pd_lib.mlflow_layer.promotion import promote as promote_version
from pd_lib.mlflow_layer.tracking import log_params_once, setup_logging, step_run
from pd_lib.params import check_params
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("promote")
@exit_on_user_error
def promote(model_name: str, version: str, stage: str, force: bool, reason: str) -> None:
    setup_logging()
    check_params({"stage": stage, "force": force, "reason": reason})
    with step_run("promote"):
        log_params_once({"model_name": model_name, "version": version, "stage": stage,
                         "force": force, "reason": reason})
        monitoring = champion_monitoring_line(model_name)
        if monitoring:  # what monitoring last said of the version about to be replaced
            click.echo(monitoring)
        promoted = promote_version(model_name, version, stage, force=force, reason=reason)
        click.echo(f"{model_name} version {promoted.version} is now {promoted.current_stage} "
                   f"(aliases: {', '.join(promoted.aliases) or 'none'})")


if __name__ == "__main__":
    promote()
