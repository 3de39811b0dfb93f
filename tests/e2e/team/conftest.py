"""A real PostgreSQL cluster and a real team server on it, once per test session.

The cluster is Debian's PostgreSQL, a throw-away one (initdb in a temp dir, loopback port,
password auth); as root, initdb and postgres run as the ``postgres`` user, since PostgreSQL
refuses to run as root. Every server here dies with the test process even if pytest is killed
before its teardown (Linux's parent-death signal). The team server is started with the
documented command (``python -m steps.team_server``) with basic auth on, its users in their
own database.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest

from tests.helpers import MLFLOW_ENV_VARS
from tests.servers import (
    LOOPBACK,
    exit_with_parent,
    free_port,
    require,
    stop,
    tail,
    wait_for_http,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
ADMIN = "admin"


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresCluster:
    """A running throw-away PostgreSQL cluster on 127.0.0.1."""

    port: int
    password: str
    user: str = "postgres"

    def uri(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.uri("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)


def _postgres_ids() -> tuple[int, int] | tuple[None, None]:
    """uid and gid to run PostgreSQL as: the postgres user when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None, None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _wait_for_postgres(cluster: PostgresCluster, process: subprocess.Popen, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}:\n{tail(log)}")
        try:
            psycopg.connect(cluster.uri("postgres"), connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.3)
    pytest.fail(f"postgres did not accept connections within 90 s:\n{tail(log)}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """initdb in a temp dir, then the postmaster in the foreground as our child (not pg_ctl,
    which daemonises it): it is told to shut down fast if pytest dies without teardown."""
    bindir = _postgres_bin()
    require(bindir is not None, "PostgreSQL (Debian package postgresql)")
    # Not under pytest's tmp dir: that is private to root, and the postgres user must enter it.
    workdir = Path(tempfile.mkdtemp(prefix="pd-pg-"))
    password = secrets.token_hex(12)
    (workdir / "pwfile").write_text(password + "\n")
    uid, gid = _postgres_ids()
    if uid is not None:
        for path in (workdir, workdir / "pwfile"):
            os.chown(path, uid, gid)
    data, log = workdir / "data", workdir / "postgres.log"
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
         f"--pwfile={workdir / 'pwfile'}", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
        preexec_fn=exit_with_parent(signal.SIGTERM, uid, gid),
        check=True, capture_output=True, timeout=120,
    )
    cluster = PostgresCluster(port=free_port(), password=password)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(cluster.port),
             "-k", str(workdir), "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off"],
            stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=exit_with_parent(signal.SIGINT, uid, gid))  # SIGINT: fast shutdown
    try:
        _wait_for_postgres(cluster, process, log)
        yield cluster
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class TeamServer:
    """A running team server: its URL, the admin's credentials, its log."""

    url: str
    admin_password: str
    log: Path
    backend_store_uri: str
    artifact_root: Path

    @property
    def auth(self) -> tuple[str, str]:
        return ADMIN, self.admin_password


@pytest.fixture(scope="session")
def team_server(postgres: PostgresCluster, tmp_path_factory) -> Iterator[TeamServer]:
    """``python -m steps.team_server ... --auth`` on the PostgreSQL cluster, 1 worker."""
    workdir = tmp_path_factory.mktemp("team-server")
    backend = postgres.create_database("mlflow")
    auth_db = postgres.create_database("mlflow_auth")
    port = free_port()
    admin_password = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in MLFLOW_ENV_VARS
           and not k.startswith("MLFLOW_TRACKING_")}
    # The database URIs (with the password) in the environment, never on a command line.
    env.update({"MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
                "MLFLOW_BACKEND_STORE_URI": backend, "PD_AUTH_DB_URI": auth_db})
    command = [sys.executable, "-m", "steps.team_server",
               "--artifact-root", str(workdir / "artifacts"),
               "--host", LOOPBACK, "--port", str(port), "--workers", "1", "--auth",
               # Credentials are checked with PBKDF2 on every request unless cached; the racing
               # test makes thousands of requests.
               "--auth-cache-ttl-seconds", "60"]
    log = workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=exit_with_parent())
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for_http(f"{url}/health", process, log)
        yield TeamServer(url=url, admin_password=admin_password, log=log,
                         backend_store_uri=backend, artifact_root=workdir / "artifacts")
    finally:
        stop(process)


@pytest.fixture
def team_uri(team_server: TeamServer, monkeypatch, tmp_path) -> Iterator[str]:
    """This test talks to the team server as the admin (MLFLOW_TRACKING_URI + credentials)."""
    for name in MLFLOW_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", team_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", team_server.admin_password)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(team_server.url)
    yield team_server.url
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
