"""The training sample's metrics come from a stratified sample of at most
TRAIN_METRICS_MAX_ROWS training loans (pd_lib.validation.evaluation)."""

from __future__ import annotations

import pytest

from pd_lib.config import TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.modelling.factory import build_model
from pd_lib.validation import evaluation


def test_train_metrics_use_a_stratified_sample_of_a_large_training_set(small_loans,
                                                                       monkeypatch):
    train, holdout = small_loans.iloc[:450], small_loans.iloc[450:]
    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    model = build_model("logistic_regression", {"calibration": "none"}, X, seed=1).fit(X, y)
    whole = evaluation.evaluate(model, train, holdout, 0.5, seed=1).metrics
    assert whole["train_n_loans"] == 450
    monkeypatch.setattr(evaluation, "TRAIN_METRICS_MAX_ROWS", 200)
    sampled = evaluation.evaluate(model, train, holdout, 0.5, seed=1).metrics
    assert sampled["train_n_loans"] == 200
    assert sampled["train_n_defaults"] / 200 == pytest.approx(y.mean(), abs=0.005)
    # the holdout's metrics do not depend on the training sample
    assert sampled["roc_auc"] == whole["roc_auc"] and sampled["log_loss"] == whole["log_loss"]
