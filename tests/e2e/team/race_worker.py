"""One racing client: a separate process that promotes its version to Production each round
(importable, so multiprocessing's spawn can start it)."""

from __future__ import annotations

import logging
import os


def promote_rounds(model: str, version: str, credentials: tuple[str, str], rounds: int, start,
                   done, results, timeout: float) -> None:
    """As the user of ``credentials``: wait at ``start``, promote ``version`` through
    pd_lib.registry, wait at ``done``; ``rounds`` times. Puts the list of errors (empty if
    none) on ``results``."""
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = credentials
    from pd_lib.mlflow_layer.governance.promotion import promote

    logging.disable(logging.INFO)
    errors = []
    for round_number in range(rounds):
        start.wait(timeout=timeout)
        try:
            promote(model, version, "Production")
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"round {round_number}, version {version}: {exc!r}")
        done.wait(timeout=timeout)
    results.put(errors)
