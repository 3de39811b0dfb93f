"""generate: make or read the loan data and log it as data/loans.parquet (+ a summary)."""

from __future__ import annotations

import click
import mlflow

from pd_lib.config import TAG_SOURCE_SHA256
from pd_lib.data import is_file_source, load_loans, sha256_of_file
from pd_lib.errors import exit_on_user_error
from pd_lib.tracking import log_loans, log_params_once, setup_logging, step_run
from steps.options import data_options


@click.command(help=__doc__)
@data_options
@exit_on_user_error
def generate(**params) -> None:
    setup_logging()
    with step_run("generate"):
        log_params_once(params)
        frame = load_loans(**params)
        if is_file_source(params["source"]):
            mlflow.set_tag(TAG_SOURCE_SHA256, sha256_of_file(params["source"]))
        summary = log_loans(frame)
        click.echo(f"logged {summary['rows']} loans, default rate {summary['default_rate']:.4f},"
                   f" sha256 {summary['sha256'][:12]}")


if __name__ == "__main__":
    generate()
