"""The team tracking server: ``mlflow server`` on PostgreSQL, artifacts proxied, auth optional.

One command (see ``python -m steps.team_server --help``) checks the settings, then runs::

    mlflow server --backend-store-uri postgresql://... --serve-artifacts
        --artifacts-destination <artifact root> --host 127.0.0.1 --port 5000 --workers 1
        [--app-name basic-auth]

Clients need only ``MLFLOW_TRACKING_URI=http://host:port``: artifacts go through the server
(``mlflow-artifacts:/``), so no shared filesystem. With ``--auth`` the users and permissions
live in their own database (``--auth-db-uri``); the first admin's password is read from
``MLFLOW_AUTH_ADMIN_PASSWORD`` (12+ characters), never from the command line.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.mlflow_internals import BASIC_AUTH_FUNCTION, MIN_AUTH_PASSWORD_LENGTH
from pd_lib.mlflow_layer.store import prepare_store

log = logging.getLogger("pd_pipeline")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
MIN_ADMIN_PASSWORD = MIN_AUTH_PASSWORD_LENGTH
PERMISSIONS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
# SQLAlchemy dialect+driver -> the module it imports. SQLAlchemy 2.1 picks psycopg (3) for a
# bare postgresql:// URI; requirements-team.txt pins it.
POSTGRES_DRIVERS = {
    "postgresql": "psycopg",
    "postgresql+psycopg": "psycopg",
    "postgresql+psycopg2": "psycopg2",
}


@dataclass(frozen=True)
class TeamServerConfig:
    """Everything the team server is started with (secrets stay in the environment)."""

    backend_store_uri: str
    artifact_root: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    auth: bool = False
    auth_db_uri: str = ""
    default_permission: str = "READ"
    auth_cache_ttl_seconds: int = 0
    allowed_hosts: str = ""


# --- checks ------------------------------------------------------------------------------


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def check_database_uri(uri: str, what: str) -> None:
    """A SQLAlchemy URI whose driver is installed; PostgreSQL or SQLite."""
    scheme = _scheme(uri)
    if scheme in POSTGRES_DRIVERS:
        module = POSTGRES_DRIVERS[scheme]
        if importlib.util.find_spec(module) is None:
            raise PipelineError(
                f"{what} '{redact(uri)}' needs the Python package '{module}', which is not "
                "installed; pip install -r requirements-team.txt."
            )
        return
    if scheme.startswith("postgresql+"):
        raise PipelineError(
            f"{what}: unknown PostgreSQL driver in '{redact(uri)}'; write postgresql://... "
            "(psycopg 3) or postgresql+psycopg2://..."
        )
    if scheme != "sqlite":
        raise PipelineError(
            f"{what} must be a postgresql://user:password@host:port/database URI (or sqlite:/// "
            f"for a try-out); got '{redact(uri)}'."
        )


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ***, for messages and logs."""
    if "://" not in uri or "@" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else uri


def check_database_reachable(uri: str, what: str) -> None:
    """Connect once, so a wrong host, password or database name is one clear line."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        raise PipelineError(
            f"cannot connect to the {what} '{redact(uri)}': {reason[0] if reason else exc}; "
            "check host, port, user, password and that the database exists."
        ) from None
    finally:
        engine.dispose()


def check_config(config: TeamServerConfig, environ: dict[str, str]) -> None:
    """Refuse settings the server would fail on later, each with what to do."""
    check_database_uri(config.backend_store_uri, "backend store URI")
    if not config.artifact_root:
        raise PipelineError("artifact root is empty; pass --artifact-root /srv/mlflow-artifacts "
                            "(or s3://bucket/path).")
    if config.workers < 1:
        raise PipelineError(f"workers must be at least 1; got {config.workers}.")
    if not config.auth:
        return
    if importlib.util.find_spec("flask_wtf") is None:
        raise PipelineError("--auth needs mlflow's auth extra (Flask-WTF); "
                            "pip install -r requirements-team.txt.")
    if not config.auth_db_uri:
        raise PipelineError("--auth needs --auth-db-uri, the database for users and permissions "
                            "(e.g. postgresql://.../mlflow_auth or sqlite:///basic_auth.db).")
    check_database_uri(config.auth_db_uri, "auth database URI")
    if config.default_permission not in PERMISSIONS:
        raise PipelineError(f"default permission must be one of {', '.join(PERMISSIONS)}; "
                            f"got '{config.default_permission}'.")
    password = environ.get("MLFLOW_AUTH_ADMIN_PASSWORD", "")
    if password and len(password) < MIN_ADMIN_PASSWORD:
        raise PipelineError(
            f"MLFLOW_AUTH_ADMIN_PASSWORD has {len(password)} characters; MLflow needs at least "
            f"{MIN_ADMIN_PASSWORD}."
        )


# --- the command -------------------------------------------------------------------------


def artifact_destination(artifact_root: str) -> str:
    """A local artifact root as an absolute path; a remote URI (s3://, gs://...) unchanged."""
    if "://" in artifact_root:
        return artifact_root
    return str(Path(artifact_root).expanduser().resolve())


# The environment variable ``mlflow server`` reads its backend store URI from (its click
# option's documented envvar): the URI holds the database password, and a command line is
# readable by every user of the machine (ps, /proc/<pid>/cmdline).
BACKEND_STORE_URI_ENV = "MLFLOW_BACKEND_STORE_URI"
# Artifact root of the Default experiment when the server proxies artifacts.
SERVED_ARTIFACT_ROOT = "mlflow-artifacts:/"


def server_command(config: TeamServerConfig) -> list[str]:
    """The ``mlflow server`` command line (no secrets on it: the backend store URI goes in
    the environment, the auth database URI in a 0600 file)."""
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--serve-artifacts",
        "--artifacts-destination", artifact_destination(config.artifact_root),
        "--host", config.host,
        "--port", str(config.port),
        "--workers", str(config.workers),
    ]
    if config.allowed_hosts:
        command += ["--allowed-hosts", config.allowed_hosts]
    if config.auth:
        command += ["--app-name", "basic-auth"]
    return command


def write_auth_config(config: TeamServerConfig, directory: Path) -> Path:
    """The basic-auth ini MLflow reads from MLFLOW_AUTH_CONFIG_PATH (mode 0600: it may hold a
    database password). Admin name and password come from the environment."""
    parser = configparser.ConfigParser()
    parser["mlflow"] = {
        "default_permission": config.default_permission,
        "database_uri": config.auth_db_uri,
        "admin_username": "admin",
        "authorization_function": BASIC_AUTH_FUNCTION,
        "grant_default_workspace_access": "false",
        "auth_cache_ttl_seconds": str(config.auth_cache_ttl_seconds),
    }
    path = directory / "basic_auth.ini"
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        parser.write(handle)
    return path


def server_environment(
    config: TeamServerConfig, environ: dict[str, str], auth_config_path: Path | None
) -> dict[str, str]:
    """The server's environment: job runner off (it needs ~1 GB and PD models do not use it),
    no usage telemetry, and for auth the config path and a Flask secret key."""
    env = dict(environ)
    env[BACKEND_STORE_URI_ENV] = config.backend_store_uri
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if config.auth:
        if auth_config_path is not None:
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(auth_config_path)
        if not env.get("MLFLOW_FLASK_SERVER_SECRET_KEY"):
            # Static for this server's lifetime and shared by all its workers; CSRF tokens of
            # the login forms do not survive a restart. Set it yourself to keep them.
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(32)
    return env


def run_server(config: TeamServerConfig, environ: dict[str, str] | None = None) -> int:
    """Check ``config``, run the server until it exits (SIGTERM/SIGINT are passed on)."""
    environ = dict(os.environ if environ is None else environ)
    check_config(config, environ)
    check_database_reachable(config.backend_store_uri, "backend store")
    if config.auth:
        check_database_reachable(config.auth_db_uri, "auth database")
    if _scheme(config.backend_store_uri) == "sqlite":  # migrated under a file lock, once
        prepare_store(config.backend_store_uri, SERVED_ARTIFACT_ROOT)
    destination = artifact_destination(config.artifact_root)
    if "://" not in destination:
        Path(destination).mkdir(parents=True, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="pd-team-server-"))
    try:
        auth_path = write_auth_config(config, state_dir) if config.auth else None
        command = server_command(config)
        log.info("starting %s (backend store %s, from %s)", " ".join(command),
                 redact(config.backend_store_uri), BACKEND_STORE_URI_ENV)
        process = subprocess.Popen(command, env=server_environment(config, environ, auth_path))
        with _forwarding_signals(process):
            return process.wait()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


@contextlib.contextmanager
def _forwarding_signals(process: subprocess.Popen):
    def forward(signum, _frame):
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
