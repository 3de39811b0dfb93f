"""promote: move a model version to Staging, Production or Archived, aliases in step.

To Production only through the champion gate (or --force with --reason); the run logs
report/champion_vs_challenger.html. Promoting the current champion again changes nothing.
"""

from __future__ import annotations

import click

from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("promote")
@exit_on_user_error
def promote(model_name: str, version: str, stage: str, force: bool, reason: str) -> None:
    from pd_lib.mlflow_layer.governance.promotion import promote as promote_version
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.scoring.monitoring import champion_monitoring_line
    from pd_lib.mlflow_layer.step_runs import rename_run, step_run

    setup_logging()
    with step_run("promote", f"promote-{model_name}-{stage}"):
        log_params_once({"model_name": model_name, "version": version, "stage": stage,
                         "force": force, "reason": reason})
        monitoring = champion_monitoring_line(model_name)
        if monitoring:  # what monitoring last said of the version about to be replaced
            click.echo(monitoring)
        promotion = promote_version(model_name, version, stage, force=force, reason=reason)
        promoted = promotion.version
        rename_run(f"promote-{model_name}-v{promoted.version}-{stage}")
        aliases = ", ".join(promoted.aliases) or "none"
        click.echo(f"{model_name} version {promoted.version} is now {promoted.current_stage} "
                   f"(aliases: {aliases})" if promotion.changed else
                   f"{model_name} version {promoted.version} already is "
                   f"{promoted.current_stage} (aliases: {aliases}); nothing changed")


if __name__ == "__main__":
    promote()
