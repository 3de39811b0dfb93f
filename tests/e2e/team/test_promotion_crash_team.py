"""Promotion killed at every registry write, on the PostgreSQL-backed team server (issue 14).

The same rounds as tests/e2e/test_promotion_crash.py (tests/e2e/crash_rounds.py), with every
write going over HTTP to ``mlflow server`` on PostgreSQL: a killed client leaves whatever the
server committed, and the next client must finish or roll back from there.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.crash_rounds import kill_rounds
from tests.e2e.test_promotion_crash import versions_of_one_model

MODEL = "pd_crash_team"
# Rounds in the normal test run; PD_KILL_ROUNDS_TEAM=20 for the full count.
ROUNDS = int(os.environ.get("PD_KILL_ROUNDS_TEAM", "6"))


@pytest.mark.heavy
def test_killed_at_every_write_on_the_team_server(team_uri, runner):
    versions_of_one_model(runner, MODEL)
    report = kill_rounds(MODEL, ("1", "2"), "3", ROUNDS)
    print(f"\nkill rounds on PostgreSQL: {ROUNDS}, {report}")
    assert report["bad"] == [], report["bad"]
    assert report["killed"]["KILL"] > 0
