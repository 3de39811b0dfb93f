"""Lock owners and leases, and masking secrets in error lines (issue 14), without a store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from pd_lib.errors import mask_secrets
from pd_lib.mlflow_layer.governance.lock import LockOwner
from pd_lib.process import process_alive, process_start


def _owner(**changes) -> LockOwner:
    fields = {**LockOwner.me(300.0).__dict__, **changes}
    return LockOwner(**fields)


def test_a_fresh_lock_of_a_live_process_is_not_abandoned():
    assert not _owner().abandoned()


def test_an_expired_lease_is_abandoned_even_if_its_holder_lives():
    assert _owner(expires=time.time() - 1).abandoned()


def test_a_dead_holder_on_this_host_is_abandoned_at_once():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert _owner(pid=dead.pid, started="").abandoned()


def test_a_holder_on_another_host_is_trusted_until_its_lease_ends():
    assert not _owner(host="elsewhere." + socket.gethostname(), pid=999_999_999).abandoned()


def test_a_reused_pid_is_not_the_holder():
    me = os.getpid()
    assert process_alive(me, process_start(me))
    assert not process_alive(me, "1")  # same pid, another start time


def test_description_says_who_and_for_how_long():
    owner = _owner(holder="alice@box pid 7", since=time.time() - 42)
    assert owner.describe().startswith("alice@box pid 7, held for 42 s")


def test_passwords_in_uris_are_masked():
    text = ("cannot reach http://alice:s3cret@127.0.0.1:5000/api and "
            "postgresql://mlflow:p@ss@db:5432/mlflow; sqlite:///mlflow.db stays")
    masked = mask_secrets(text)
    assert "s3cret" not in masked and "p@ss" not in masked
    assert "http://alice:***@127.0.0.1:5000/api" in masked
    assert "postgresql://mlflow:***@db:5432/mlflow" in masked
    assert "sqlite:///mlflow.db stays" in masked
