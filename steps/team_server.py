"""team_server: start the team tracking server (mlflow server on PostgreSQL, auth optional).

Not an MLproject entry point: the server the team's runs log to. The checks and the command
line live in pd_lib.mlflow_layer.team_server.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from pd_lib.errors import exit_on_user_error
from pd_lib.mlflow_layer.team_server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    PERMISSIONS,
    TeamServerConfig,
    check_config,
    redact,
    run_server,
    server_command,
)
from steps.options import StepCommand


@click.command(cls=StepCommand, help="""Start the team tracking server: mlflow server with a
PostgreSQL store,
artifacts proxied through it (clients need no shared disk), bound to 127.0.0.1 unless --host
says otherwise, basic auth with --auth (admin password from MLFLOW_AUTH_ADMIN_PASSWORD, 12+
characters). --dry-run prints the mlflow server command.""")
@click.option("--backend-store-uri", required=True, envvar="MLFLOW_BACKEND_STORE_URI",
              help="postgresql://user:password@host:5432/mlflow (psycopg 3), or "
                   "postgresql+psycopg2://...; better from MLFLOW_BACKEND_STORE_URI, which "
                   "keeps the password off the command line (ps shows it).")
@click.option("--artifact-root", required=True,
              help="Where the server keeps artifacts: a local directory or s3://..., gs://...")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Interface to bind; 0.0.0.0 to serve other machines (then set "
                   "--allowed-hosts).")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True,
              help="Server worker processes (each ~0.5 GB).")
@click.option("--allowed-hosts", default="",
              help="Host headers to accept, e.g. mlflow.bank.internal,10.0.0.5:5000.")
@click.option("--auth/--no-auth", default=False, show_default=True,
              help="Basic auth (users, permissions); admin password from "
                   "MLFLOW_AUTH_ADMIN_PASSWORD.")
@click.option("--auth-db-uri", default="", envvar="PD_AUTH_DB_URI",
              help="Database for users and permissions (or PD_AUTH_DB_URI, off the command "
                   "line).")
@click.option("--default-permission", default="READ", show_default=True,
              type=click.Choice(PERMISSIONS), help="What users may do with others' work.")
@click.option("--auth-cache-ttl-seconds", type=int, default=0, show_default=True,
              help="Cache checked credentials this long (0: check every request).")
@click.option("--dry-run", is_flag=True, help="Print the mlflow server command and exit.")
@exit_on_user_error
def team_server(dry_run: bool, **options) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = TeamServerConfig(**options)
    if dry_run:
        check_config(config, dict(os.environ))
        click.echo(" ".join(redact(part) for part in server_command(config)))
        return
    sys.exit(run_server(config))


if __name__ == "__main__":
    team_server()
