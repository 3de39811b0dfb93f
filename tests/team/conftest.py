"""A real PostgreSQL cluster and a real team server on it, once per test session.

The cluster is Debian's PostgreSQL, a throw-away one (initdb in a temp dir, loopback port,
password auth); as root, initdb and pg_ctl run as the ``postgres`` user, since PostgreSQL
refuses to run as root. The team server is started with the documented command
(``python -m pd_lib.team_server``) with basic auth on, its users in their own database.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest

from tests.servers import LOOPBACK, free_port, require, stop, tail, wait_for_http

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MLFLOW_ENV_VARS = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")
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


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL will not run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    bindir = _postgres_bin()
    require(bindir is not None, "PostgreSQL (Debian package postgresql)")
    # Not under pytest's tmp dir: that is private to root, and the postgres user must enter it.
    workdir = Path(tempfile.mkdtemp(prefix="pd-pg-"))
    password = secrets.token_hex(12)
    (workdir / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres").pw_uid
        for path in (workdir, workdir / "pwfile"):
            os.chown(path, uid, -1)
    data, log = workdir / "data", workdir / "postgres.log"
    port = free_port()
    subprocess.run(
        _as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=scram-sha-256", f"--pwfile={workdir / 'pwfile'}",
                           "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True, timeout=120,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses={LOOPBACK} -c fsync=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
    started = subprocess.run(_as_postgres_user([*pg_ctl, "-o", options, "-w", "-t", "60",
                                                "start"]),
                             capture_output=True, text=True, timeout=90)
    try:
        if started.returncode != 0:
            pytest.fail(f"pg_ctl start failed: {started.stderr}\n{tail(log)}")
        yield PostgresCluster(port=port, password=password)
    finally:
        subprocess.run(_as_postgres_user([*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"]),
                       capture_output=True, timeout=90)
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
    """``python -m pd_lib.team_server ... --auth`` on the PostgreSQL cluster, 1 worker."""
    workdir = tmp_path_factory.mktemp("team-server")
    backend = postgres.create_database("mlflow")
    auth_db = postgres.create_database("mlflow_auth")
    port = free_port()
    admin_password = secrets.token_urlsafe(18)
    env = {k: v for k, v in os.environ.items() if k not in MLFLOW_ENV_VARS
           and not k.startswith("MLFLOW_TRACKING_")}
    env.update({"MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)})
    command = [sys.executable, "-m", "pd_lib.team_server",
               "--backend-store-uri", backend, "--artifact-root", str(workdir / "artifacts"),
               "--host", LOOPBACK, "--port", str(port), "--workers", "1",
               "--auth", "--auth-db-uri", auth_db,
               # Credentials are checked with PBKDF2 on every request unless cached; the racing
               # test makes thousands of requests.
               "--auth-cache-ttl-seconds", "60"]
    log = workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
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
