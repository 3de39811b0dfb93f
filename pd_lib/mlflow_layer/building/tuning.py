"""The tune step's candidates as nested child runs of its run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from pd_lib.config import TAG_CODE_FINGERPRINT
from pd_lib.mlflow_layer.mlflow_internals import (
    MLFLOW_GIT_COMMIT,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)
from pd_lib.modelling.search import best_params, candidate_results

if TYPE_CHECKING:
    from pd_lib.modelling.search import Searcher


INHERITED_TAGS = (MLFLOW_USER, MLFLOW_SOURCE_NAME, MLFLOW_SOURCE_TYPE, MLFLOW_GIT_COMMIT,
                  TAG_CODE_FINGERPRINT)


def log_candidates(searcher: Searcher, model: str) -> None:
    """One nested child run per candidate: its parameters, CV ROC AUC (mean, std), rank.

    Batched: each child is one create_run, one log_batch and one set_terminated, and inherits
    the parent's user, source and commit tags (fluent start_run would resolve them again).
    """
    client = MlflowClient()
    parent = client.get_run(mlflow.active_run().info.run_id)
    inherited = {k: v for k, v in parent.data.tags.items() if k in INHERITED_TAGS}
    now = int(time.time() * 1000)
    for record in candidate_results(searcher, model):
        name = ",".join(f"{k}={v}" for k, v in record["params"].items())
        child = client.create_run(
            parent.info.experiment_id, run_name=f"candidate {name}",
            tags={**inherited, MLFLOW_PARENT_RUN_ID: parent.info.run_id},
        )
        metrics = {"cv_roc_auc": record["cv_roc_auc"], "cv_roc_auc_std": record["cv_roc_auc_std"],
                   "rank": record["rank"], "fit_seconds": record["fit_seconds"],
                   "round": record["round"]}
        for key in ("n_resources", "n_splits"):
            if record[key] is not None:
                metrics[key] = record[key]
        params = {"model": model, **record["params"]}
        client.log_batch(
            child.info.run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)) for k, v in params.items()],
        )
        client.set_terminated(child.info.run_id)


def log_search(searcher: Searcher, model: str) -> dict[str, Any]:
    """Log the candidates as child runs, the best one's parameters (``best_*``) and its mean
    CV ROC AUC (``best_cv_roc_auc``) in the active run; returns the best parameters."""
    log_candidates(searcher, model)
    best = best_params(searcher, model)
    mlflow.log_params({f"best_{k}": v for k, v in best.items()})
    mlflow.log_metric("best_cv_roc_auc", float(searcher.best_score_))
    return best


def refuse_invalid_parameters(exc: Exception, grid: str) -> None:
    """Re-raise scikit-learn's InvalidParameterError (a value the estimator refuses, found
    while searching) as one line; anything else propagates unchanged."""
    from pd_lib.errors import PipelineError, first_line

    if type(exc).__name__ == "InvalidParameterError":
        raise PipelineError(f"grid '{grid}': {first_line(exc)}") from None
