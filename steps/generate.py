"""generate: make or read the loan data and log it as data/loans.parquet (+ a summary)."""

from __future__ import annotations

import click

from pd_lib.data.sources import load_loans
from pd_lib.errors import exit_on_user_error
from pd_lib.mlflow_layer.artifacts import log_loans
from pd_lib.mlflow_layer.tracking import log_params_once, setup_logging, step_run
from pd_lib.params import check_params
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("generate")
@exit_on_user_error
def generate(**values) -> None:
    setup_logging()
    check_params(values)
    with step_run("generate"):
        log_params_once(values)
        summary = log_loans(load_loans(**values), source=values["source"])
        click.echo(f"logged {summary['rows']} loans, default rate {summary['default_rate']:.4f},"
                   f" sha256 {summary['sha256'][:12]}")


if __name__ == "__main__":
    generate()
