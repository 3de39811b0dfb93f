"""Shared by every test: small seeded data, and the e2e marker for everything in tests/e2e.

Light on purpose: no MLflow store here. The fast loop (``pytest -m "not e2e"``) runs
tests/unit, which needs only requirements.txt and pytest; tests/e2e/conftest.py holds the
real temporary SQLite store and the click runner for the end-to-end tests.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pd_lib.cores import take_step_share
from pd_lib.data.sources import make_classification_loans
from pd_lib.memory import avoid_hugepage_stalls

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast loop (``-m "not e2e"``) does not even import tests/e2e: those modules need the
    team and Spark extras (psycopg, pyspark), which the fast loop does not install."""
    if config.getoption("markexpr") == "not e2e" and (
            collection_path == E2E_DIR or E2E_DIR in collection_path.parents):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an ``e2e`` test: a real MLflow store, ``mlflow run``,
    a server, Spark, PostgreSQL, or a whole script run in a subprocess.

    ``heavy`` tests (and so their files) go first: the e2e job hands whole files to parallel
    workers (pytest-xdist, ``--dist loadfile``) in this order, and a minutes-long file handed
    out last would leave the other worker idle while it runs."""
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture(scope="session", autouse=True)
def _thread_pools_sized_to_the_idle_cores() -> None:
    """Size OpenMP/BLAS pools as every step does (pd_lib.cores): on shared, busy cores two
    spinning OpenMP threads make a boosting fit many times slower, never faster."""
    take_step_share()
    avoid_hugepage_stalls()  # as the steps do: no huge-page advice on numpy's large arrays


@pytest.fixture(scope="session")
def small_loans() -> pd.DataFrame:
    """600 tutorial-style loans, 20% defaulters, fixed seed."""
    return make_classification_loans(n_samples=600, n_features=6, default_rate=0.2, seed=7)
