"""reproduce: rebuild a registered version from its lineage and prove it is the same model.

Checks out the version's recorded git commit into a temporary tree (refused when the version
was built from uncommitted code), checks that a user data file still has its recorded hash,
runs generate and train (or tune) again from that tree with the recorded parameters and no
reuse, and compares the data hash, every holdout PD, every metric and the chosen kind and
calibration. Logs report/reproduction.html and .json; tags the version pd.reproduced=yes|no.
Exits 0 reproduced, 3 not reproduced, 2 on a user error (unknown model or version, missing
data file, uncommitted code).
"""

from __future__ import annotations

import sys

import click

from pd_lib.config import NOT_REPRODUCED_EXIT_CODE
from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("reproduce")
@exit_on_user_error
def reproduce(model_name: str, version: str) -> None:
    from pd_lib.mlflow_layer.building.reproduce import reproduce_version
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.step_runs import step_run

    setup_logging()
    with step_run("reproduce", f"reproduce-{model_name}-{version}") as run:
        log_params_once({"model_name": model_name, "version": version})
        result = reproduce_version(model_name, version, run)
    verdict = "reproduced" if result.reproduced else "NOT reproduced"
    click.echo(f"{model_name} version {result.version}: {verdict}; largest holdout PD "
               f"difference {result.max_pd_difference:.3g} over {result.holdout_loans:,} "
               f"loans; run {run.info.run_id}")
    for problem in result.problems:
        click.echo(f"  {problem}", err=True)
    if not result.reproduced:
        sys.exit(NOT_REPRODUCED_EXIT_CODE)


if __name__ == "__main__":
    reproduce()
