"""Racing promotes on the PostgreSQL-backed team server.

MLflow's own ``transition_model_version_stage(..., archive_existing_versions=True)`` does not
serialise two clients: raced against such a server it ended with two Production versions in
23 of 50 rounds (issue 6). Our promote holds a registry-wide lock, so here two processes
promote two different versions to Production at once, 50 times, and after every round exactly
one version is in Production and it holds the ``champion`` alias. The two clients are two
team members (not admins: the auth app's permission hooks run for them), each allowed to edit
the model.
"""

from __future__ import annotations

import multiprocessing

import mlflow
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT
from pd_lib.mlflow_layer.lock import LOCK_SUFFIX
from pd_lib.mlflow_layer.mlflow_internals import get_app_client
from steps.generate import generate
from steps.train import train
from tests.e2e.team.race_worker import promote_rounds
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import invoke

MODEL = "pd_race"
ROUNDS = 50
ROUND_TIMEOUT = 300  # seconds a round may take before the test fails (bounded, never hangs)
USERS = {"1": "alice", "2": "bob"}  # who promotes which version


def _two_versions_of_one_model() -> None:
    """Versions 1 and 2 of MODEL, both the same trained model: the champion gate passes
    whichever wins, so every promote must succeed and only the lock decides the order.
    (A logistic regression: its calibration lights are green on this small data, where a
    small forest's red Hosmer-Lemeshow light would make the gate refuse both.)"""
    runner = CliRunner()
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--model", "logistic_regression"])
    assert result.exit_code == 0, result.output
    run_id = _only_run("train").info.run_id
    for _ in range(2):
        mlflow.register_model(f"runs:/{run_id}/model", MODEL)


def _state(client: MlflowClient) -> tuple[list[str], str | None, bool]:
    versions = client.search_model_versions(f"name = '{MODEL}'")
    production = sorted(str(v.version) for v in versions if v.current_stage == "Production")
    aliases = client.get_registered_model(MODEL).aliases
    lock_left = bool(client.search_registered_models(f"name = '{MODEL}{LOCK_SUFFIX}'"))
    return production, (str(aliases["champion"]) if "champion" in aliases else None), lock_left


def _team_members(server_url: str) -> dict[str, tuple[str, str]]:
    """alice and bob, non-admin users who may edit MODEL: version -> (user, password)."""
    auth = get_app_client("basic-auth", tracking_uri=server_url)
    credentials = {}
    for version, user in USERS.items():
        password = f"{user}-team-password"
        auth.create_user(user, password)
        auth.grant_user_permission(user, "registered_model", MODEL, "EDIT")
        credentials[version] = (user, password)
    return credentials


def test_racing_promotes_leave_exactly_one_champion(team_uri):
    _two_versions_of_one_model()
    credentials = _team_members(team_uri)
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(3), context.Barrier(3)
    results = context.Queue()
    workers = [context.Process(target=promote_rounds,
                               args=(MODEL, version, credentials[version], ROUNDS, start,
                                     done, results, ROUND_TIMEOUT))
               for version in USERS]
    for worker in workers:
        worker.start()
    client = MlflowClient()
    bad_rounds = []
    try:
        for round_number in range(ROUNDS):
            start.wait(timeout=ROUND_TIMEOUT)  # both workers promote now
            done.wait(timeout=ROUND_TIMEOUT)   # both have finished this round
            production, champion, lock_left = _state(client)
            if len(production) != 1 or champion != production[0] or lock_left:
                bad_rounds.append((round_number, production, champion, lock_left))
    finally:
        for worker in workers:
            worker.join(timeout=ROUND_TIMEOUT)
            if worker.is_alive():
                worker.kill()
    errors = [results.get(timeout=10) for _ in workers]
    assert errors == [[], []], errors
    assert bad_rounds == [], f"{len(bad_rounds)} of {ROUNDS} rounds inconsistent: {bad_rounds}"
