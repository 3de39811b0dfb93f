"""The team server on a real PostgreSQL: its store, its artifact proxy, its basic auth."""

from __future__ import annotations

import mlflow
import psycopg
import pytest
import requests
from mlflow.tracking import MlflowClient

from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.team_server import TeamServerConfig, check_config, redact, server_command

SEARCH = "/api/2.0/mlflow/experiments/search"


def test_runs_land_in_postgresql_and_artifacts_go_through_the_server(team_uri, team_server,
                                                                      tmp_path):
    mlflow.set_experiment("team-smoke")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_text("hello team", "notes/hello.txt")
    # The run is a row of PostgreSQL's runs table (read with psycopg, not through MLflow).
    with psycopg.connect(team_server.backend_store_uri) as connection:
        rows = connection.execute(
            "SELECT status, artifact_uri FROM runs WHERE run_uuid = %s", (run.info.run_id,)
        ).fetchall()
    assert rows == [("FINISHED", rows[0][1])]
    # Artifacts are proxied (mlflow-artifacts:/): a client needs no shared filesystem.
    assert rows[0][1].startswith("mlflow-artifacts:/")
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="notes/hello.txt", dst_path=str(tmp_path))
    assert open(local).read() == "hello team"
    assert MlflowClient().get_run(run.info.run_id).data.params == {"alpha": "0.5"}


def test_request_without_credentials_is_refused(team_server):
    response = requests.post(team_server.url + SEARCH, json={"max_results": 1}, timeout=30)
    assert response.status_code == 401


def test_wrong_password_is_refused_and_right_one_accepted(team_server):
    wrong = requests.post(team_server.url + SEARCH, json={"max_results": 1}, timeout=30,
                          auth=("admin", team_server.admin_password + "x"))
    right = requests.post(team_server.url + SEARCH, json={"max_results": 1}, timeout=30,
                          auth=team_server.auth)
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "experiments" in right.json()


def test_mlflow_client_without_credentials_gets_a_clear_refusal(team_server, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    client = MlflowClient(tracking_uri=team_server.url)
    with pytest.raises(mlflow.exceptions.MlflowException, match="401|[Uu]nauthorized"):
        client.search_experiments(max_results=1)


def test_command_binds_loopback_by_default_and_adds_auth_only_when_asked():
    plain = server_command(TeamServerConfig("postgresql://u:p@db:5432/mlflow", "/srv/art"))
    assert plain[plain.index("--host") + 1] == "127.0.0.1"
    assert plain[plain.index("--artifacts-destination") + 1] == "/srv/art"
    assert "--serve-artifacts" in plain and "--app-name" not in plain
    assert not any("u:p@" in part for part in plain)  # the store URI goes in the environment
    authed = server_command(TeamServerConfig("postgresql://u:p@db/m", "/srv/art", auth=True,
                                             auth_db_uri="sqlite:///a.db"))
    assert authed[authed.index("--app-name") + 1] == "basic-auth"


def test_no_command_line_shows_the_database_password(team_server, postgres):
    """The store URI reaches mlflow server through its environment (issue 14: it was on the
    command line, readable through ps by every user)."""
    from pathlib import Path

    shown = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if postgres.password in text:
            shown.append(text[:200].replace(postgres.password, "<password>"))
    assert shown == []


def test_short_admin_password_is_refused_before_starting():
    config = TeamServerConfig("postgresql://u:p@db/m", "/srv/art", auth=True,
                              auth_db_uri="sqlite:///a.db")
    with pytest.raises(PipelineError, match="at least 12"):
        check_config(config, {"MLFLOW_AUTH_ADMIN_PASSWORD": "short"})


def test_unknown_store_and_missing_auth_db_are_refused():
    with pytest.raises(PipelineError, match="postgresql://"):
        check_config(TeamServerConfig("mysql://u:p@db/m", "/srv/art"), {})
    with pytest.raises(PipelineError, match="--auth-db-uri"):
        check_config(TeamServerConfig("postgresql://u:p@db/m", "/srv/art", auth=True), {})


def test_passwords_are_redacted_in_messages():
    assert redact("postgresql://mlflow:s3cret@db:5432/mlflow") == \
        "postgresql://mlflow:***@db:5432/mlflow"
    assert redact("sqlite:///tmp/a.db") == "sqlite:///tmp/a.db"
