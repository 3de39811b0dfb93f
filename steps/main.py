"""main: generate -> train -> tune -> register the better -> promote, reusing finished runs.

On two or more cores tune runs beside train, in a background process whose log lines start
'tune |' (PD_PARALLEL_STEPS=0: one after the other). Ends with a summary: each step's run,
whether it was reused, seconds, holdout AUC and lights; the version and stage; where the
report is; and the mlflow ui command.
"""

from __future__ import annotations

import atexit
import logging

import click

from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options

log = logging.getLogger("pd_pipeline")

# What tune needs, imported by the step server while main starts
# (pd_lib.mlflow_layer.runner.background).
# scipy.special right after steps (which turns numpy's huge-page advice off): see
# pd_lib.process. The SQLite store's modules (SQLAlchemy, alembic) took 1.4 s of tune's first
# request.
BACKGROUND_PRELOAD = ("steps", "scipy.special", "steps.tune",
                      "pd_lib.mlflow_layer.building.training_data",
                      "pd_lib.mlflow_layer.building.model_fit",
                      "pd_lib.mlflow_layer.building.evaluation_logging",
                      "pd_lib.mlflow_layer.building.tuning", "pd_lib.modelling.search",
                      "mlflow.sklearn", "skops.io",
                      "mlflow.store.tracking.sqlalchemy_store", "mlflow.store.db.utils",
                      "pd_lib.mlflow_layer.runner.preload")


def check_source_params(values: dict) -> None:
    """Sizes and rates of a generated book, before the first step runs (generate would refuse
    them only after main had started its run)."""
    from pd_lib.data.schema import check_generate_params

    if values["source"] == "synthetic":
        check_generate_params(values["n_samples"], values["default_rate"])
    elif values["source"] == "make_classification":
        check_generate_params(values["n_samples"], values["default_rate"], values["n_features"])


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("main")
@exit_on_user_error
def main(env_manager: str, **values) -> None:
    from pd_lib.cores import available_cores, hand_down
    from pd_lib.mlflow_layer.runner.step_modes import parallel_steps
    from pd_lib.params import check_values

    check_values({"env_manager": env_manager})  # before a step server or a run starts
    cores, how = available_cores()  # measured before main's own work starts, then handed down
    hand_down(cores)
    if parallel_steps(env_manager, cores=cores):  # first: it imports tune's modules while
        from pd_lib.mlflow_layer.runner.background import start_step_server, stop_step_server

        start_step_server(BACKGROUND_PRELOAD)  # main imports its own
        atexit.register(stop_step_server)
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.runner.pipeline import run_main, summary_lines
    from pd_lib.mlflow_layer.step_runs import step_run
    from pd_lib.params import check_model_values
    from steps import step_command

    setup_logging()
    log.info("cores for main and its steps: %d (%s)", cores, how)
    # every step's, the grid on its estimator, before any runs; the parsed grid sizes the plan
    grid = check_model_values(values)["grid"]
    check_source_params(values)
    with step_run("main"):
        log_params_once({**values, "env_manager": env_manager})
        result = run_main(values, env_manager, step_command, cores, grid)
        click.echo("\n".join(summary_lines(result, values["stage"])))


if __name__ == "__main__":
    main()
