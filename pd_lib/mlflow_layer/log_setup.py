"""Logging of a step process: one timestamped line per stage on stderr, MLflow's noisy
loggers and download progress bars quietened."""

from __future__ import annotations

import logging
import os


def setup_logging() -> None:
    """One log line per stage, on stderr, with a timestamp (and no download progress bars,
    which fill a log with carriage returns)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
    )
    for noisy in ("alembic", "mlflow.store", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
