"""score: score a loan book with a registered model and log data/scored.parquet.

Per loan: loan_id, pd, rating (master-scale grade), model_name, model_version; with
reasons=n also reason_1..reason_n (and for a scorecard its points, score). The data is
checked against the model's signature first: a missing or mistyped column stops the step
before anything is scored or logged. engine=spark scores through mlflow.pyfunc.spark_udf
(pip install -r requirements-spark.txt) and logs data/scored.parquet as a Parquet directory,
or writes the scores to output_path (a path the cluster shares) instead; it also reads a
Parquet data set (a directory partitioned by month, say) and writes its scores partitioned
by the same columns.
"""

from __future__ import annotations

import click

from pd_lib.errors import PipelineError, exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("score")
@exit_on_user_error
def score(model_uri: str, data_uri: str, engine: str, spark_master: str,
          output_path: str, reasons: int) -> None:
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.scoring import batch

    setup_logging()
    if not data_uri:
        raise PipelineError("no data_uri given; pass -P data_uri=runs:/<generate run id>/"
                            "data/loans.parquet or a Parquet/CSV path.")
    result = batch.score_and_log(model_uri, data_uri, engine, spark_master, output_path,
                                   reasons)
    click.echo(f"scored {result.rows} loans with {result.model.name} version "
               f"{result.model.version or '-'} ({engine}); mean PD {result.mean_pd:.4f}; run "
               f"{result.run_id}")
    click.echo(f"output: {result.output} (columns {', '.join(result.columns)})")


if __name__ == "__main__":
    score()
