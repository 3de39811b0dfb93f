"""main: generate -> train -> tune -> register the better -> promote, reusing finished runs."""

from __future__ import annotations

import click

from pd_lib.config import DEFAULT_MODEL
from pd_lib.errors import exit_on_user_error
from pd_lib.pipeline import run_main
from pd_lib.tracking import log_params_once, setup_logging, step_run
from steps.options import data_options, model_options, promote_options, split_options, tune_options


@click.command(help=__doc__)
@data_options
@model_options
@split_options
@click.option("--tune-model", default=DEFAULT_MODEL, show_default=True,
              help="Model kind the tune step searches.")
@tune_options
@promote_options
@click.option("--env-manager", default="",
              help="local, virtualenv, uv or conda for the steps; empty: main's own.")
@exit_on_user_error
def main(env_manager: str, **params) -> None:
    setup_logging()
    with step_run("main"):
        log_params_once({**params, "env_manager": env_manager})
        result = run_main(params, env_manager)
        click.echo(f"main: version {result['version']} from run {result['best']} promoted to "
                   f"{params['stage']}")


if __name__ == "__main__":
    main()
