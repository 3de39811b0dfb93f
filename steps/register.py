"""register: make the model of a train or tune run a new version of the registered model."""

from __future__ import annotations

import click
import mlflow

from pd_lib import registry
from pd_lib.config import MODEL_NAME
from pd_lib.errors import exit_on_user_error
from pd_lib.tracking import log_params_once, setup_logging, step_run


@click.command(help=__doc__)
@click.option("--run-id", required=True, help="Id (or runs:/ URI) of a train or tune run.")
@click.option("--model-name", default=MODEL_NAME, show_default=True)
@exit_on_user_error
def register(run_id: str, model_name: str) -> None:
    setup_logging()
    with step_run("register"):
        log_params_once({"run_id": run_id, "model_name": model_name})
        version = registry.register(run_id, model_name)
        mlflow.log_param("registered_version", version.version)
        click.echo(f"registered {model_name} version {version.version}")


if __name__ == "__main__":
    register()
