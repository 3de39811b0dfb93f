"""A step's parameters logged as ``mlflow run`` logs them, once."""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.mlflow_internals import quote_param


def log_params_once(params: dict[str, Any]) -> None:
    """Log the step's parameters that ``mlflow run`` has not logged already.

    ``mlflow run`` logs every declared parameter before the step starts, as typed on the
    command line; logging one again with another spelling fails (mlflow issue 3536).
    """
    run = mlflow.active_run()
    logged = MlflowClient().get_run(run.info.run_id).data.params
    mlflow.log_params({k: as_mlflow_param(v) for k, v in params.items() if k not in logged})


def as_mlflow_param(value: Any) -> str:
    """A parameter value exactly as ``mlflow run`` logs it: str(), then shell-quoted.

    (An empty string is stored as ``''``, a grid with ``;`` inside quotes.)
    """
    return quote_param("" if value is None else str(value))
