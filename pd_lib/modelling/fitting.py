"""Fitting a PD model on a training sample, with a log line and its time."""

from __future__ import annotations

import logging
import time

import pandas as pd

from pd_lib.config import TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.modelling.pd_model import PDModel

log = logging.getLogger("pd_pipeline")


def fit(model: PDModel, train: pd.DataFrame) -> PDModel:
    """Fit ``model`` on the feature columns of ``train``, with a log line and its time."""
    started = time.perf_counter()
    model.fit(train[feature_columns(train)], train[TARGET_COL].to_numpy())
    log.info("fitted %s on %d rows in %.1f s", type(model.estimator_).__name__, len(train),
             time.perf_counter() - started)
    return model
