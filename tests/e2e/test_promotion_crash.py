"""Promotion as a recoverable transaction on SQLite: killed at every write, a broken model
file, and locks with owners and leases (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.governance.lock import (
    INTENT_TAG,
    LOCK_SUFFIX,
    OWNER_TAG,
    LockOwner,
    PromoteLock,
    promote_lock,
)
from pd_lib.mlflow_layer.governance.promotion import promote as promote_version
from steps.generate import generate
from steps.promote import promote
from steps.train import train
from tests.e2e.crash_rounds import kill_rounds
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke

MODEL = "pd_crash"
# Rounds of the kill test in the normal test run; PD_KILL_ROUNDS=50 for the full count.
ROUNDS = int(os.environ.get("PD_KILL_ROUNDS", "14"))


def versions_of_one_model(runner, model: str = MODEL, count: int = 3) -> str:
    """Versions 1..count of ``model``, one trained logistic regression (green lights on small
    data), so the gate passes whichever is promoted and only crashes or races decide the
    state; returns the training run's id."""
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    result = invoke(runner, train, ["--data-uri", data_uri, "--model", "logistic_regression"])
    assert result.exit_code == 0, result.output
    run_id = _only_run("train").info.run_id
    for _ in range(count):
        mlflow.register_model(f"runs:/{run_id}/model", model)
    return run_id


@pytest.mark.heavy
def test_killed_at_every_write_leaves_the_old_or_the_new_champion(tracking_uri, runner):
    versions_of_one_model(runner)
    report = kill_rounds(MODEL, ("1", "2"), "3", ROUNDS)
    print(f"\nkill rounds on SQLite: {ROUNDS}, {report}")
    assert report["bad"] == [], report["bad"]
    assert report["killed"]["KILL"] > 0
    if ROUNDS > report["writes_per_promote"]:
        assert report["killed"]["INT"] > 0
        assert report["positions"] == set(range(1, report["writes_per_promote"] + 1))
    client = MlflowClient()
    by_stage = mlflow.pyfunc.load_model(f"models:/{MODEL}/Production")
    by_alias = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    assert by_stage.metadata.model_uuid == by_alias.metadata.model_uuid
    assert not client.search_registered_models(f"name LIKE '{MODEL}{LOCK_SUFFIX}%'")


def test_promote_cli_killed_mid_promotion_is_finished_by_the_next(tracking_uri, runner):
    """The real step as a subprocess, SIGKILLed right after it wrote its intent and archived
    the old champion: the next promote finishes it."""
    versions_of_one_model(runner)
    promote_version(MODEL, "1", "Production")
    env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": tracking_uri}
    done = subprocess.run([sys.executable, "-m", "tests.e2e.kill_at_write", "3", "KILL",
                           "steps.promote", "--model-name", MODEL,
                           "--version", "2", "--stage", "Production"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    lock = MlflowClient().get_registered_model(MODEL + LOCK_SUFFIX)
    assert json.loads(lock.tags[INTENT_TAG])["version"] == "2"
    result = invoke(runner, promote, ["--model-name", MODEL, "--version", 3, "--stage",
                                      "Staging"])
    assert result.exit_code == 0, result.output
    model = MlflowClient().get_registered_model(MODEL)
    assert {k: str(v) for k, v in model.aliases.items()} == {"champion": "2", "challenger": "3"}
    assert not MlflowClient().search_registered_models(f"name LIKE '{MODEL}{LOCK_SUFFIX}%'")


def _truncate_model_file(version: str) -> Path:
    local = Path(MlflowClient().get_model_version_download_uri(MODEL, version)
                 .removeprefix("file://"))
    model_file = next(local.rglob("*.skops"))
    model_file.write_bytes(model_file.read_bytes()[:200])
    return model_file


def test_truncated_model_file_is_refused_even_with_force(tracking_uri, runner):
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    for _ in range(2):
        assert invoke(runner, train, ["--data-uri", data_uri, "--model",
                                      "logistic_regression"]).exit_code == 0
        mlflow.register_model(f"runs:/{_only_run('train').info.run_id}/model", MODEL)
    promote_version(MODEL, "1", "Production")
    _truncate_model_file("2")
    for extra in ([], ["--force", "true", "--reason", "the regulator insists"]):
        result = invoke(runner, promote, ["--model-name", MODEL, "--version", 2, *extra])
        assert result.exit_code == 2, result.output
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, result.stderr
        assert "version 2 cannot be promoted: its model does not load" in lines[0]
        assert "force" not in lines[0] and "Traceback" not in result.output
    client = MlflowClient()
    assert str(client.get_registered_model(MODEL).aliases["champion"]) == "1"
    assert [str(v.version) for v in client.search_model_versions(f"name = '{MODEL}'")
            if v.current_stage == "Production"] == ["1"]


def test_changed_model_whose_pds_differ_is_refused(tracking_uri, runner, monkeypatch):
    """A model file that loads but scores other PDs than were logged at training."""
    run_id = versions_of_one_model(runner)
    holdout = Path(mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/data/holdout_scored.parquet"))
    import pandas as pd

    frame = pd.read_parquet(holdout)
    frame["pd"] = frame["pd"] * 0.5
    changed = Path(MlflowClient().get_run(run_id).info.artifact_uri.removeprefix("file://"))
    frame.to_parquet(changed / "data" / "holdout_scored.parquet", index=False)
    with pytest.raises(PipelineError, match="PDs on its holdout differ from the logged ones"):
        promote_version(MODEL, "1", "Production", force=True, reason="no")


def _fake_owner(**changes) -> str:
    owner = LockOwner.me(300.0)
    return json.dumps({**json.loads(owner.to_tag()), **changes})


def test_lock_of_a_dead_process_is_taken_over_at_once(tracking_uri):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    MlflowClient().create_registered_model(
        MODEL + LOCK_SUFFIX, tags={OWNER_TAG: _fake_owner(pid=dead.pid, holder="ghost")})
    started = time.monotonic()
    with promote_lock(MODEL, wait_seconds=5) as lock:
        assert lock.holds()
    assert time.monotonic() - started < 5
    assert not MlflowClient().search_registered_models(f"name LIKE '{MODEL}{LOCK_SUFFIX}%'")


def test_lock_held_by_a_live_process_names_holder_and_age(tracking_uri):
    MlflowClient().create_registered_model(
        MODEL + LOCK_SUFFIX,
        tags={OWNER_TAG: _fake_owner(holder="alice@box pid 1", since=time.time() - 95)})
    with pytest.raises(PipelineError) as caught, promote_lock(MODEL, wait_seconds=0.3):
        pass
    message = str(caught.value)
    assert "alice@box pid 1, held for 95 s" in message or "held for 96 s" in message
    assert "waited 0 s (PD_LOCK_WAIT_SECONDS sets the wait)" in message


def test_expired_lease_is_taken_over_by_one_of_two_waiters(tracking_uri):
    """Two waiters on one expired lock: exactly one takes it over (token compare)."""
    MlflowClient().create_registered_model(
        MODEL + LOCK_SUFFIX, tags={OWNER_TAG: _fake_owner(pid=1, host="elsewhere",
                                                           expires=time.time() - 1)})
    first, second = PromoteLock(MODEL), PromoteLock(MODEL)
    assert first.try_take_over() is True
    assert second.try_take_over() is False
    assert first.holds() and not second.holds()
    first.release()
    assert PromoteLock(MODEL).read() is None
