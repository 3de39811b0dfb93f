"""Kill a promoting process at every registry write, and check what the next one finds.

Each round a real child process promotes a version to Production with
the fault of tests/e2e/kill_at_write.py: right after its n-th registry write it sends
itself a real SIGKILL or SIGINT. Then the parent recovers, on even rounds as
a reader of the champion does (``recover_abandoned_promotion``), on odd rounds as the next
promote does (a promote of another version to Staging, which must first finish the pending
one), and checks: exactly one Production version, holding ``champion``, the old champion or
the new one, ``/Production`` and ``@champion`` resolve to it, and no lock is left.

The children come from a forkserver that imported MLflow and pd_lib once, so a round costs a
fork, not a Python start (the kill is still a real signal to a real process).
"""

from __future__ import annotations

import multiprocessing
import os
import time

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.governance.lock import LOCK_SUFFIX
from pd_lib.mlflow_layer.mlflow_internals import model_name_and_version
from tests.e2e.kill_at_write import install, writes_so_far

CHILD_TIMEOUT = 180  # seconds one killed promote may take before the test fails
PASSED_ON_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                 "MLFLOW_EXPERIMENT_NAME")


def _child(model: str, version: str, env: dict[str, str], position: int, signal_name: str
           ) -> None:
    """In the child process: promote ``version`` to Production, killed by ``signal_name``
    right after its ``position``-th registry write."""
    import logging

    install(position, signal_name)
    os.environ.update(env)
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    logging.disable(logging.WARNING)
    from pd_lib.mlflow_layer.governance.promotion import promote

    promote(model, version, "Production")


# What a promote imports on its way to its registry writes, loaded once in the forkserver:
# without skops, the stores and pyfunc preloaded, a forked child spent 4 of its 5.3 s
# importing them (measured on SQLite: 5.3 s -> 1.3 s per child).
FORKSERVER_PRELOAD = [
    "pd_lib.mlflow_layer.governance.promotion",
    "pd_lib.modelling.skops_trust",
    "pd_lib.mlflow_layer.governance.model_check",
    "mlflow.pyfunc",
    "mlflow.sklearn",
    "skops.io",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.tracking.rest_store",
    "mlflow.store.model_registry.rest_store",
]


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)
    return context


def _state(client: MlflowClient, model: str) -> dict:
    versions = client.search_model_versions(f"name = '{model}'")
    aliases = client.get_registered_model(model).aliases
    locks = [m.name for m in client.search_registered_models(f"name LIKE '{model}{LOCK_SUFFIX}%'")]
    return {"production": sorted(str(v.version) for v in versions
                                 if v.current_stage == "Production"),
            "champion": str(aliases["champion"]) if "champion" in aliases else None,
            "locks": locks}


def _resolves(client: MlflowClient, model: str, suffix: str) -> str:
    return str(model_name_and_version(client, f"models:/{model}{suffix}")[1])


def writes_per_promote(model: str, versions: tuple[str, str]) -> int:
    """Registry writes one whole promote to Production makes when there is a champion
    (in-process: the first version, then the second, counted)."""
    from pd_lib.mlflow_layer.governance.promotion import promote

    promote(model, versions[0], "Production")
    install()
    before = writes_so_far()
    promote(model, versions[1], "Production")
    return writes_so_far() - before


def kill_rounds(model: str, versions: tuple[str, str], staging_version: str,
                rounds: int) -> dict:
    """Run the rounds; returns counts and the list of inconsistent rounds (empty if none).
    ``versions`` alternate as champion; ``staging_version`` is the next promote's target."""
    from pd_lib.mlflow_layer.governance.promotion import promote, recover_abandoned_promotion

    client = MlflowClient()
    writes = writes_per_promote(model, versions)
    context = _context()
    env = {k: os.environ[k] for k in PASSED_ON_ENV if k in os.environ}
    report = {"writes_per_promote": writes, "killed": {"KILL": 0, "INT": 0},
              "positions": set(), "bad": [], "seconds": 0.0}
    started = time.monotonic()
    for number in range(rounds):
        old = _state(client, model)["champion"]
        new = versions[1] if old == versions[0] else versions[0]
        position, signal_name = number % writes + 1, ("KILL", "INT")[(number // writes) % 2]
        child = context.Process(target=_child, args=(model, new, env, position, signal_name))
        child.start()
        child.join(timeout=CHILD_TIMEOUT)
        if child.is_alive():
            child.kill()
            raise AssertionError(f"round {number}: the promote did not end in {CHILD_TIMEOUT} s")
        if child.exitcode != 0:  # killed (-9) or interrupted (KeyboardInterrupt: 1)
            report["killed"][signal_name] += 1
            report["positions"].add(position)
        if number % 2 == 0:
            recover_abandoned_promotion(model)
        else:
            promote(model, staging_version, "Staging")
        state = _state(client, model)
        production = state["production"]
        consistent = (len(production) == 1 and state["champion"] == production[0]
                      and production[0] in (old, new) and not state["locks"]
                      and _resolves(client, model, "/Production") == production[0]
                      and _resolves(client, model, "@champion") == production[0])
        if not consistent:
            report["bad"].append((number, position, signal_name, old, new, state))
    report["seconds"] = time.monotonic() - started
    return report
