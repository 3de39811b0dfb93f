"""generate: make or read the loan data and log it as data/loans.parquet (+ a summary)."""

from __future__ import annotations

from pathlib import Path

import click

from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options

# pd_lib's working modules (pandas, scikit-learn, mlflow) are imported inside each step's
# function: --help and a mistyped option answer in well under a second.


def generate_run_name(source: str, n_samples: float) -> str:
    """``generate-synthetic-10000`` for a generated book, ``generate-german_credit`` for a file."""
    if source in ("synthetic", "make_classification"):
        return f"generate-{source}-{int(n_samples)}"
    return f"generate-{Path(source).stem}"


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("generate")
@exit_on_user_error
def generate(**values) -> None:
    from pd_lib.data.sources import load_loans
    from pd_lib.mlflow_layer.artifacts import log_loans
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.step_runs import step_run

    setup_logging()
    with step_run("generate", generate_run_name(values["source"], values["n_samples"])):
        log_params_once(values)
        summary = log_loans(load_loans(**values), source=values["source"])
        click.echo(f"logged {summary['rows']} loans, default rate {summary['default_rate']:.4f},"
                   f" sha256 {summary['sha256'][:12]}")


if __name__ == "__main__":
    generate()
