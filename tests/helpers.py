"""Small helpers shared by the tests (no MLflow import: the unit tests use some of them)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MLFLOW_ENV_VARS = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")


def invoke(runner, command, args: list):
    """Invoke a step's click command in-process and return the result."""
    return runner.invoke(command, [str(a) for a in args], catch_exceptions=False)


def env_without_mlflow_run() -> dict[str, str]:
    """os.environ for a subprocess, without a parent run id leaking in."""
    return {k: v for k, v in os.environ.items() if k not in MLFLOW_ENV_VARS}
