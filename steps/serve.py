"""serve: the REST server of a PD model (default: the champion), MLflow's scoring API.

The same requests and answers as ``mlflow models serve``: POST /invocations with
dataframe_split, dataframe_records or CSV, ``"params": {"reasons": n}`` for reason codes;
GET /ping. Unlike it, a model that does not load is one line (exit 2) before any port
opens, and over-nested JSON or an empty CSV body is a short 400, not a 500 or a traceback.
"""

from __future__ import annotations

import click

from pd_lib.config import MODEL_NAME
from pd_lib.errors import exit_on_user_error


@click.command(help=__doc__)
@click.option("--model-uri", default=f"models:/{MODEL_NAME}@champion", show_default=True,
              help="models:/name@alias, models:/name/Production, models:/name/3 or "
                   "runs:/id/model.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for every interface.")
@click.option("--port", default=5001, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port.")
@exit_on_user_error
def serve(model_uri: str, host: str, port: int) -> None:
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.scoring import serving

    setup_logging()
    serving.serve(model_uri, host, port)


if __name__ == "__main__":
    serve()
