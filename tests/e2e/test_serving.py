"""REST serving: ``mlflow models serve`` of the champion gives batch scoring's PDs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from click.testing import CliRunner

from pd_lib.config import MODEL_NAME, PD_COL
from pd_lib.data.schema import feature_columns
from pd_lib.mlflow_layer.scoring import batch
from pd_lib.modelling.reasons import reason_columns
from tests.champion import make_champion, sqlite_tracking
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run
from tests.servers import free_port, served_model

CHAMPION = f"models:/{MODEL_NAME}@champion"
STEPS_SERVE = [sys.executable, "-m", "steps.serve"]


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory) -> Iterator[tuple[Path, str, pd.DataFrame]]:
    """A fresh SQLite store with a champion: its folder, URI and the champion's loans."""
    workdir = tmp_path_factory.mktemp("serving")
    with sqlite_tracking(workdir) as uri:
        import mlflow

        data_uri = make_champion(CliRunner())
        yield workdir, uri, pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))


@pytest.fixture(scope="module")
def served(champion_store) -> Iterator[tuple[str, pd.DataFrame]]:
    """The champion served by ``mlflow models serve`` on a free loopback port; its loans."""
    workdir, uri, loans = champion_store
    with served_model(CHAMPION, workdir, uri) as url:
        yield url, loans


@pytest.fixture(scope="module")
def guarded(champion_store) -> Iterator[tuple[str, pd.DataFrame]]:
    """The champion served by ``python -m steps.serve`` (MLflow's app behind our guard)."""
    workdir, uri, loans = champion_store
    with served_model(CHAMPION, workdir, uri, command=STEPS_SERVE) as url:
        yield url, loans


def _post(url: str, rows: pd.DataFrame) -> requests.Response:
    payload = {"dataframe_split": rows.to_dict(orient="split", index=False)}
    return requests.post(f"{url}/invocations", json=payload, timeout=60)


def test_served_pds_equal_batch_scoring(served):
    url, loans = served
    rows = loans.head(200)
    response = _post(url, rows[feature_columns(rows)])
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert all(set(p) == {PD_COL} for p in predictions)  # one named column: the PD
    served_pd = np.array([p[PD_COL] for p in predictions])
    scored = batch.score_loans(CHAMPION, rows)
    np.testing.assert_allclose(served_pd, scored[PD_COL].to_numpy(), rtol=0, atol=1e-12)
    assert ((served_pd >= 0) & (served_pd <= 1)).all()


def test_one_row_is_served(served):
    url, loans = served
    row = loans[feature_columns(loans)].iloc[[7]]
    response = _post(url, row)
    assert response.status_code == 200
    scored = batch.score_loans(CHAMPION, loans.iloc[[7]])
    assert abs(response.json()["predictions"][0][PD_COL] - scored[PD_COL].iloc[0]) <= 1e-12


def test_row_without_a_feature_is_refused(served):
    url, loans = served
    rows = loans[feature_columns(loans)].head(3).drop(columns=["feature_0"])
    response = _post(url, rows)
    assert response.status_code == 400
    assert "feature_0" in response.text


def test_served_reasons_equal_batch_scoring(served):
    """Reason codes as an inference parameter over REST: the same as the score step's."""
    url, loans = served
    rows = loans.head(50)
    payload = {"dataframe_split": rows[feature_columns(rows)].to_dict(orient="split",
                                                                       index=False),
               "params": {"reasons": 3}}
    response = requests.post(f"{url}/invocations", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    served_rows = pd.DataFrame(response.json()["predictions"])
    scored = batch.score_loans(CHAMPION, rows, reasons=3)
    for column in reason_columns(3):
        assert served_rows[column].fillna("").tolist() == scored[column].fillna("").tolist()
    np.testing.assert_allclose(served_rows[PD_COL], scored[PD_COL], rtol=0, atol=1e-12)


def _post_body(url: str, body: bytes, content_type: str = "application/json"
               ) -> requests.Response:
    return requests.post(f"{url}/invocations", data=body,
                         headers={"Content-Type": content_type}, timeout=60)


def _assert_short_json_refusal(response: requests.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text and "stack_trace" not in response.text
    assert len(response.text) < 1200, response.text
    return response.json()


@pytest.mark.parametrize("reasons", [-1, 21, 10 ** 9, 1.5, "many"])
def test_bad_reasons_are_a_short_400(served, reasons):
    """Issue 29: a 1.9 kB body with our traceback before (MLflow attaches one to any
    exception but its own)."""
    url, loans = served
    rows = loans[feature_columns(loans)].head(3)
    payload = {"dataframe_split": rows.to_dict(orient="split", index=False),
               "params": {"reasons": reasons}}
    body = _assert_short_json_refusal(_post_body(url, json.dumps(payload).encode()))
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "reasons" in body["message"]
    if isinstance(reasons, int):  # MLflow's params schema refuses 1.5 and text before our model
        assert f"reasons must be a whole number from 0 to 20; got {reasons!r}" in body["message"]


@pytest.mark.parametrize("body", [b"", b"{not json", b"{}", b"[1, 2]", b'{"dataframe_split": 3}'])
def test_malformed_request_is_a_short_400(served, body):
    url, _ = served
    _assert_short_json_refusal(_post_body(url, body))


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def test_mlflow_models_serve_answers_deep_json_500_and_an_empty_csv_with_a_traceback(served):
    """What steps.serve guards against; if MLflow fixes these, its guard can go."""
    url, _ = served
    assert _post_body(url, DEEP_JSON).status_code == 500
    empty_csv = _post_body(url, b"", "text/csv")
    assert empty_csv.status_code == 400 and "Traceback" in empty_csv.text


def test_steps_serve_gives_the_same_pds_as_mlflow_models_serve(served, guarded):
    (url, loans), (guarded_url, _) = served, guarded
    rows = loans.head(100)[feature_columns(loans)]
    ours, theirs = _post(guarded_url, rows), _post(url, rows)
    assert ours.status_code == theirs.status_code == 200, ours.text
    assert ours.json() == theirs.json()
    csv = rows.head(5).to_csv(index=False).encode()
    assert _post_body(guarded_url, csv, "text/csv").json() == _post_body(
        url, csv, "text/csv").json()


@pytest.mark.parametrize(("body", "content_type", "says"), [
    (DEEP_JSON, "application/json", "nested too deeply"),
    (b"", "text/csv", "the CSV body is empty"),
    (b"  \n", "text/csv; charset=utf-8", "the CSV body is empty"),
])
def test_steps_serve_answers_deep_json_and_an_empty_csv_with_a_short_400(guarded, body,
                                                                          content_type, says):
    url, _ = guarded
    answer = _assert_short_json_refusal(_post_body(url, body, content_type))
    assert answer["error_code"] == "BAD_REQUEST" and says in answer["message"]


@pytest.mark.parametrize("body", [b"", b"{not json", b"[1, 2]", b"[" * 950 + b"]" * 950])
def test_steps_serve_passes_other_bad_json_to_mlflows_short_400(guarded, body):
    url, _ = guarded
    _assert_short_json_refusal(_post_body(url, body))


def test_steps_serve_of_a_model_that_does_not_load_is_one_line(champion_store, tmp_path):
    """A damaged model file: one error line naming it, exit 2, no port opened (``mlflow
    models serve`` printed two tracebacks)."""
    _, uri, _ = champion_store
    import mlflow

    copy = Path(mlflow.artifacts.download_artifacts(CHAMPION, dst_path=str(tmp_path / "m")))
    damaged = next(copy.rglob("*.skops"))
    damaged.write_bytes(damaged.read_bytes()[:200])
    with mlflow.start_run() as run:  # the champion's files, its model file damaged
        mlflow.log_artifacts(str(copy), "model")
    env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": uri}
    done = subprocess.run([*STEPS_SERVE, "--model-uri", f"runs:/{run.info.run_id}/model",
                           "--port", str(free_port())], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and "does not load" in errors[0] and "Traceback" not in done.stderr
