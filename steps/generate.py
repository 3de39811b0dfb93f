"""generate: make or read the loan data and log it as data/loans.parquet (+ a summary)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow

from pd_lib.config import DATA_SUMMARY_ARTIFACT, LOANS_ARTIFACT, TAG_DATA_SHA256
from pd_lib.data import data_summary, load_loans, sha256_of_file, write_parquet
from pd_lib.errors import exit_on_user_error
from pd_lib.tracking import log_json, log_params_once, setup_logging, step_run
from steps.options import data_options


@click.command(help=__doc__)
@data_options
@exit_on_user_error
def generate(**params) -> None:
    setup_logging()
    with step_run("generate"):
        log_params_once(params)
        frame = load_loans(**params)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(LOANS_ARTIFACT).name
            write_parquet(frame, path)
            digest = sha256_of_file(path)
            summary = {**data_summary(frame), "sha256": digest}
            mlflow.set_tag(TAG_DATA_SHA256, digest)
            mlflow.log_metrics({"rows": summary["rows"], "default_rate": summary["default_rate"]})
            log_json(summary, DATA_SUMMARY_ARTIFACT)
            mlflow.log_artifact(str(path), artifact_path=str(Path(LOANS_ARTIFACT).parent))
        click.echo(f"logged {len(frame)} loans, default rate {summary['default_rate']:.4f}, "
                   f"sha256 {digest[:12]}")


if __name__ == "__main__":
    generate()
