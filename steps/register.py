"""register: make the model of a train or tune run a version of the registered model.

A run that already is a version returns that version; a model whose input columns differ
from the champion's is refused (give its portfolio its own --model-name).
"""

from __future__ import annotations

import click

from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("register")
@exit_on_user_error
def register(run_id: str, model_name: str) -> None:
    from pd_lib.mlflow_layer.governance import registry
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.step_runs import rename_run, step_run

    setup_logging()
    with step_run("register", f"register-{model_name}"):
        log_params_once({"run_id": run_id, "model_name": model_name})
        registration = registry.register(run_id, model_name)
        number = registration.version.version
        log_params_once({"registered_version": number,
                         "newly_registered": registration.created})
        rename_run(f"register-{model_name}-v{number}")
        click.echo(f"registered {model_name} version {number}" if registration.created else
                   f"already registered as {model_name} version {number}")


if __name__ == "__main__":
    register()
