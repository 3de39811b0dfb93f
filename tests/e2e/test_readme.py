"""The README files' shell blocks, run as a user pastes them, in one fresh store (issue 13).

The quick start gets small data (``-P n_samples=1500``, a two-point grid, 2 folds) so that
it runs in seconds; every other block runs as written. The tests' own block is this suite,
and its ``pip install`` is what CI did before running it, so both are left out.
Then what a user does next: the same command again adds nothing to the registry, and a file
with other columns under the default model name stops before registering, naming the fix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import DATA_SUMMARY_ARTIFACT, EXPERIMENT_NAME, MODEL_NAME
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run
from tests.readme_blocks import shell_blocks

SMALL = " -P n_samples=1500 -P grid='learning_rate=0.1,0.2' -P cv=2"
QUICK_START_INSTALL = "pip install -r requirements.txt && "
TEST_COMMAND = "python -m pytest"


def _shell(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=900, env=env_without_mlflow_run())


def _ok(command: str) -> subprocess.CompletedProcess:
    result = _shell(command)
    assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-5000:])
    return result


def _versions(name: str) -> list:
    return MlflowClient().search_model_versions(f"name = '{name}'")


def _runs(entry_point: str) -> list:
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT_NAME)
    return MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
        order_by=["attributes.start_time DESC"])


def _serves_the_pasted_example(block: str) -> None:
    """The serving block as written (it starts the server in the background, downloads the
    model's input example, posts it); then the server is stopped and the example removed."""
    example = PROJECT_ROOT / "serving_input_example.json"
    server = subprocess.Popen(["bash", "-c", block + "\nkill %1; wait"], cwd=PROJECT_ROOT,
                              env=env_without_mlflow_run(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = server.communicate(timeout=300)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        example.unlink(missing_ok=True)
    answers = [json.loads(line) for line in out.splitlines() if line.startswith('{"predictions"')]
    assert len(answers) == 1, (out[-3000:], err[-3000:])
    predictions = answers[0]["predictions"]
    assert len(predictions) == 5  # the model's 5-row input example
    assert all(0 < p["pd"] < 1 for p in predictions), predictions


@pytest.mark.heavy
def test_readme_blocks_run_and_a_rerun_or_another_portfolio_leaves_the_registry_alone(
        tracking_uri):
    quick_start, test_block, german, serving = shell_blocks("README.md")
    assert quick_start.startswith(QUICK_START_INSTALL) and test_block.startswith("pip install")
    assert TEST_COMMAND in test_block
    quick_start = quick_start.removeprefix(QUICK_START_INSTALL) + SMALL

    first = _ok(quick_start)
    (main,) = _runs("main")
    for step in ("generate", "train", "tune", "register", "promote"):
        (child,) = _runs(step)
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == main.info.run_id
        assert child.info.run_name.startswith(step), child.info.run_name
    assert main.info.run_name == "main"
    (version,) = _versions(MODEL_NAME)
    assert version.current_stage == "Production"
    # the end-of-run summary: a row per step, the version, and how to open mlflow ui
    for step in ("generate", "train", "tune", "register", "promote"):
        assert any(line.startswith(step) for line in first.stdout.splitlines()), first.stdout
    assert f"{MODEL_NAME} version 1, stage Production" in first.stdout
    assert "mlflow ui --backend-store-uri" in first.stdout
    assert f"/#/experiments/{main.info.experiment_id}/runs" in first.stdout
    # the report and gate links open in a browser: files on this machine, and they exist
    links = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in first.stdout.splitlines()
             if line.startswith(("report: ", "gate: "))}
    assert links["report"].startswith("file:///"), links
    for link in links.values():  # the gate's is a file too, when promote compared one
        assert not link.startswith(("file:", "runs:/")) or Path(
            unquote(urlparse(link).path)).is_file(), link

    again = _ok(quick_start)
    assert [str(v.version) for v in _versions(MODEL_NAME)] == ["1"]
    assert "nothing changed" in again.stdout + again.stderr
    for step in ("generate", "train", "tune"):
        assert len(_runs(step)) == 1, f"{step} was recomputed"

    other_portfolio = german.replace("-P model_name=pd_german", "")
    refused = _shell(other_portfolio)
    assert refused.returncode != 0
    assert "-P model_name=" in refused.stdout + refused.stderr
    assert [str(v.version) for v in _versions(MODEL_NAME)] == ["1"]

    _serves_the_pasted_example(serving)

    _ok(german)
    (german_version,) = _versions("pd_german")
    assert german_version.current_stage == "Production"
    (generate,) = [r for r in _runs("generate") if r.data.params["source"].endswith(".csv")]
    summary = json.loads(mlflow.artifacts.load_text(
        f"runs:/{generate.info.run_id}/{DATA_SUMMARY_ARTIFACT}"))
    assert summary["rows"] == 1000 and summary["default_rate"] == 0.3
    german_runs = [r for r in _runs("train") + _runs("tune")
                   if r.data.params.get("resolved_data_uri", "").startswith(
                       f"runs:/{generate.info.run_id}/")]
    assert german_version.run_id in {r.info.run_id for r in german_runs}
    for run in german_runs:  # the data carry signal (chance is 0.5), Gini = 2 AUC - 1
        assert run.data.metrics["roc_auc"] > 0.7
        assert abs(run.data.metrics["gini"] - (2 * run.data.metrics["roc_auc"] - 1)) < 1e-9
    for block in shell_blocks("data/README.md"):  # the same command: nothing new
        _ok(block)
    assert len(_versions("pd_german")) == 1
