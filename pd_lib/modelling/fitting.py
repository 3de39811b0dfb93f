"""Fitting a PD model on a training sample, with a log line and its time, and a progress line
at least every PROGRESS_SECONDS while a fit (or a search) runs."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import pandas as pd

from pd_lib.config import TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.modelling.pd_model import PDModel

log = logging.getLogger("pd_pipeline")

# A long fit says it is still working at least this often: a random forest of 10,000 trees on
# 3,000 loans ran minutes without a word (issue 29).
PROGRESS_SECONDS = 30.0


@contextlib.contextmanager
def progress(what: str) -> Iterator[None]:
    """Log ``<what>: still running, N s so far`` every PROGRESS_SECONDS until the block ends
    (from a daemon thread; scikit-learn's compiled fits release the GIL, and Python hands it
    over every few milliseconds otherwise)."""
    started = time.perf_counter()
    interval = PROGRESS_SECONDS
    done = threading.Event()

    def beat() -> None:
        while not done.wait(interval):
            log.info("%s: still running, %.0f s so far", what, time.perf_counter() - started)

    thread = threading.Thread(target=beat, name="fit-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def fit(model: PDModel, train: pd.DataFrame) -> PDModel:
    """Fit ``model`` on the feature columns of ``train``, with a log line and its time."""
    started = time.perf_counter()
    name = type(model.pipeline[-1]).__name__ if model.pipeline is not None else "PDModel"
    with progress(f"fitting {name} on {len(train):,} rows"):
        model.fit(train[feature_columns(train)], train[TARGET_COL].to_numpy())
    log.info("fitted %s on %d rows in %.1f s", name, len(train), time.perf_counter() - started)
    return model
