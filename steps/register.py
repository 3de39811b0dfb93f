"""register: make the model of a train or tune run a new version of the registered model."""

from __future__ import annotations

import click

from pd_lib.errors import exit_on_user_error
from pd_lib.mlflow_layer import registry
from pd_lib.mlflow_layer.tracking import log_params_once, setup_logging, step_run
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("register")
@exit_on_user_error
def register(run_id: str, model_name: str) -> None:
    setup_logging()
    with step_run("register"):
        log_params_once({"run_id": run_id, "model_name": model_name})
        version = registry.register(run_id, model_name)
        log_params_once({"registered_version": version.version})
        click.echo(f"registered {model_name} version {version.version}")


if __name__ == "__main__":
    register()
