"""The tune step's candidates as child runs on a real store."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.building.tuning import log_candidates
from pd_lib.modelling.search import best_params
from tests.unit.test_search import halving, loans, screen  # noqa: F401  (fixtures)


@pytest.mark.parametrize("method", ["screen", "halving"])
def test_one_child_run_per_candidate(store, method, request):
    searcher = request.getfixturevalue(method)
    with mlflow.start_run(experiment_id=store) as parent:
        log_candidates(searcher, "hist_gradient_boosting")
    client = MlflowClient()
    children = client.search_runs(
        [store], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert len(children) == 9
    by_rank = sorted(children, key=lambda r: r.data.metrics["rank"])
    best = best_params(searcher, "hist_gradient_boosting")
    assert by_rank[0].data.params["learning_rate"] == str(best["learning_rate"])
    assert by_rank[0].data.metrics["cv_roc_auc"] == pytest.approx(searcher.best_score_)
    parent_tags = client.get_run(parent.info.run_id).data.tags
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.params["model"] == "hist_gradient_boosting"
        assert child.data.tags["mlflow.user"] == parent_tags["mlflow.user"]
