"""Before anything moves: does the version's model load, and does it still score as logged?

The champion gate judges logged metrics and holdout PDs; a model file that was truncated or
replaced after logging passes that. This check loads the model itself, checks its signature
against the holdout's columns and that its PDs on the holdout equal the logged ones. A
failure is refused whatever ``force`` says: force overrides judgement, never a broken file.
"""

from __future__ import annotations

import logging

import numpy as np
from mlflow.entities.model_registry import ModelVersion

from pd_lib.config import HOLDOUT_ARTIFACT, PD_COL
from pd_lib.cores import reapply
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import read_parquet_artifact, run_uri
from pd_lib.mlflow_layer.scoring_model import (
    check_columns,
    model_inputs,
    pandas_kind,
    resolve_model,
)

log = logging.getLogger("pd_pipeline")

# Logged and recomputed PDs must agree this closely (float32/float64 round-trips only).
PD_TOLERANCE = 1e-6


def _refuse(version: ModelVersion, why: str) -> PipelineError:
    return PipelineError(
        f"{version.name} version {version.version} cannot be promoted: {why}. Register a run "
        "whose model loads (train it again), then promote that version."
    )


def _load(version: ModelVersion):
    import mlflow  # here: the check is the only user of pyfunc loading in this module

    uri = f"models:/{version.name}/{version.version}"
    try:
        model = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # any loader error (BadZipFile, skops, OSError) means broken
        raise _refuse(version, f"its model does not load ({type(exc).__name__}: "
                               f"{first_line(exc)})") from None
    reapply()  # the model's libraries (OpenMP) were loaded just now
    return model


def _has_holdout(version: ModelVersion) -> bool:
    from mlflow.tracking import MlflowClient

    folder, name = HOLDOUT_ARTIFACT.rsplit("/", 1)
    listed = MlflowClient().list_artifacts(version.run_id, folder)
    return any(item.path == HOLDOUT_ARTIFACT for item in listed)


def check_version_loads(version: ModelVersion) -> None:
    """Load the version's model and score its logged holdout; PipelineError (never
    overridable) if it does not load, lacks a signature, or scores other PDs than logged."""
    try:
        signature = resolve_model(f"models:/{version.name}/{version.version}").signature
    except PipelineError as exc:
        raise _refuse(version, str(exc).rstrip(".")) from None
    model = _load(version)
    if not _has_holdout(version):  # a run logged without evaluation: nothing to compare
        log.warning("version %s has no logged holdout; its model loads, PDs not compared",
                    version.version)
        return
    holdout = read_parquet_artifact(run_uri(version.run_id, HOLDOUT_ARTIFACT),
                                    f"holdout of version {version.version}")
    try:
        check_columns({c: pandas_kind(t) for c, t in holdout.dtypes.items()}, signature,
                      f"the holdout of version {version.version}")
    except PipelineError as exc:
        raise _refuse(version, str(exc).split(";")[0]) from None
    try:
        scored = np.asarray(model.predict(model_inputs(model, holdout))[PD_COL], dtype=float)
    except Exception as exc:  # the model loads but cannot score its own holdout
        raise _refuse(version, f"its model fails on its own holdout ({first_line(exc)})") \
            from None
    logged = holdout[PD_COL].to_numpy(dtype=float)
    gap = float(np.max(np.abs(scored - logged))) if len(logged) else 0.0
    if scored.shape != logged.shape or not gap <= PD_TOLERANCE:
        raise _refuse(version, f"its model's PDs on its holdout differ from the logged ones "
                               f"(largest difference {gap:.3g}); the file changed after training")
