"""Finding a run by id or ``runs:/`` URI, with a clear error when the store has none."""

from __future__ import annotations

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pd_lib.errors import PipelineError


def get_run(run_id: str) -> mlflow.entities.Run:
    """The run with this id (a ``runs:/<id>/...`` URI is accepted), or a clear error."""
    run_id = parse_run_id(run_id)
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        raise PipelineError(
            f"no run with id '{run_id}' in the tracking store {mlflow.get_tracking_uri()}; "
            "copy the id from mlflow ui or from the step's log."
        ) from None


def parse_run_id(run_ref: str) -> str:
    """A bare run id, from an id or a ``runs:/<id>[/path]`` URI."""
    run_ref = (run_ref or "").strip()
    if run_ref.startswith("runs:/"):
        run_ref = run_ref[len("runs:/"):].strip("/").split("/")[0]
    if not run_ref:
        raise PipelineError("no run id given; pass -P run_id=<id of a train or tune run>.")
    return run_ref
