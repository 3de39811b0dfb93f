"""reproduce, end to end (issue 30): versions built by real step processes from a committed
copy of the project, rebuilt from their lineage by a real ``reproduce`` process.

Covered: a synthetic book trained on 2 threads and reproduced on 1 (equal PDs, tags, report,
the rebuilt runs as children), a user CSV (reproduced; then changed: exit 3 naming the file
and both hashes; then gone: exit 2), a version built from uncommitted code (refused), an
unknown version (exit 2) and a version trained by ``mlflow run <git URL>`` at a commit the
local repository lacks.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import EXPERIMENT_NAME, LOANS_ARTIFACT, MODEL_NAME
from pd_lib.data.sources import make_classification_loans
from pd_lib.mlflow_layer.building.reproduce import REPORT_JSON, TAG_REPRODUCED
from pd_lib.validation.reproduction import PD_TOLERANCE
from tests.e2e.test_mlflow_run import git_daemon_serving
from tests.helpers import env_without_mlflow_run
from tests.snapshot_repo import git, snapshot_repository

pytestmark = [pytest.mark.heavy,
              pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")]

STEP_TIMEOUT = 600
CSV_MODEL = "pd_csv_book"  # another portfolio: its own registered model


@dataclass
class World:
    """A committed copy of the project, a SQLite store, and default synthetic loans in it."""

    repo: Path
    commit: str
    uri: str
    data_uri: str = ""
    experiment: str = EXPERIMENT_NAME

    def step(self, module: str, *args: str, threads: int = 0, cwd: Path | None = None
             ) -> subprocess.CompletedProcess:
        env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": self.uri,
               "MLFLOW_EXPERIMENT_NAME": self.experiment}
        if threads:
            env["PD_NUM_THREADS"] = str(threads)
        return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd or self.repo,
                              env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)

    def ok(self, module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        done = self.step(module, *args, **kwargs)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return done

    def train_and_register(self, *args: str, threads: int = 0, model_name: str = MODEL_NAME
                           ) -> str:
        """Train with ``args``, register the run; the new version's number."""
        self.ok("steps.train", *args, threads=threads)
        run = newest_run(self.uri, "train", self.experiment)
        out = self.ok("steps.register", "--run-id", run.info.run_id, "--model-name",
                      model_name).stdout
        return re.search(r"version (\d+)", out).group(1)

    def reproduce(self, *args: str, threads: int = 0) -> subprocess.CompletedProcess:
        return self.step("steps.reproduce", *args, threads=threads)


def newest_run(uri: str, entry_point: str, experiment_name: str = EXPERIMENT_NAME
               ) -> mlflow.entities.Run:
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    return client.search_runs([experiment.experiment_id],
                              f"tags.`mlflow.project.entryPoint` = '{entry_point}'",
                              order_by=["attributes.start_time DESC"], max_results=1)[0]


def version_tags(uri: str, version: str, model_name: str = MODEL_NAME) -> dict[str, str]:
    return MlflowClient(tracking_uri=uri).get_model_version(model_name, version).tags


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("reproduce")
    (base / "repo").mkdir()
    repo, commit = snapshot_repository(base / "repo")
    return with_loans(World(repo, commit, f"sqlite:///{base / 'mlflow.db'}"), 2000)


def with_loans(world: World, n_samples: int) -> World:
    """``world`` with a generated synthetic book as its data_uri."""
    world.ok("steps.generate", "--n-samples", str(n_samples))
    run = newest_run(world.uri, "generate", world.experiment)
    world.data_uri = f"runs:/{run.info.run_id}/{LOANS_ARTIFACT}"
    return world


def test_a_version_trained_on_two_threads_is_reproduced_on_one(world):
    version = world.train_and_register("--data-uri", world.data_uri, "--model",
                                       "hist_gradient_boosting", threads=2)
    world.ok("steps.promote", "--version", version)  # reproduce's default: the champion
    done = world.reproduce(threads=1)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert f"version {version}: reproduced" in done.stdout
    tags = version_tags(world.uri, version)
    assert tags[TAG_REPRODUCED] == "yes"
    assert float(tags["pd.reproduced_max_pd_diff"]) <= PD_TOLERANCE
    client = MlflowClient(tracking_uri=world.uri)
    reproduce_run = client.get_run(tags["pd.reproduced_run_id"])
    report = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=reproduce_run.info.run_id, artifact_path=REPORT_JSON, tracking_uri=world.uri)
    ).read_text())
    assert report["reproduced"] is True and report["holdout_loans"] == 400
    assert report["data_sha256"] == report["rebuilt_data_sha256"] != ""
    assert report["metrics_compared"] > 20 and not report["differing_metrics"]
    rebuilt = client.get_run(report["rebuilt_run_id"])
    original = client.get_run(report["original_run_id"])
    assert rebuilt.data.tags["mlflow.parentRunId"] == reproduce_run.info.run_id
    assert (original.data.tags["pd.threads"], rebuilt.data.tags["pd.threads"]) == ("2", "1")
    assert rebuilt.data.params["selected_model"] == original.data.params["selected_model"]


def _csv_book(path: Path) -> Path:
    loans = make_classification_loans(n_samples=800, n_features=5, default_rate=0.2, seed=3)
    loans.rename(columns={"default": "bad_flag"}).to_csv(path, index=False)
    return path


def test_a_version_from_a_user_csv_is_reproduced_until_the_file_changes(world, tmp_path):
    book = _csv_book(tmp_path / "book.csv")
    recorded = hashlib.sha256(book.read_bytes()).hexdigest()
    world.ok("steps.generate", "--source", str(book), "--target", "bad_flag")
    data_uri = f"runs:/{newest_run(world.uri, 'generate').info.run_id}/{LOANS_ARTIFACT}"
    version = world.train_and_register("--data-uri", data_uri, "--model", "logistic_regression",
                                       model_name=CSV_MODEL)
    reproduce = ("--model-name", CSV_MODEL, "--version", version)

    done = world.reproduce(*reproduce)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert version_tags(world.uri, version, CSV_MODEL)[TAG_REPRODUCED] == "yes"

    book.write_text(book.read_text().replace("\n1", "\n2", 1))
    changed = hashlib.sha256(book.read_bytes()).hexdigest()
    done = world.reproduce(*reproduce)
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-4000:]
    assert str(book) in done.stderr and recorded in done.stderr and changed in done.stderr
    assert version_tags(world.uri, version, CSV_MODEL)[TAG_REPRODUCED] == "no"

    book.unlink()
    done = world.reproduce(*reproduce)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "book.csv" in errors[0] and "missing" in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_version_built_from_uncommitted_code_is_refused(world):
    edited = world.repo / "pd_lib" / "config.py"
    original = edited.read_text()
    edited.write_text(original + "\n# an edit never committed\n")
    try:
        version = world.train_and_register("--data-uri", world.data_uri, "--model",
                                           "logistic_regression")
    finally:
        edited.write_text(original)
    done = world.reproduce("--version", version)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-4000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "uncommitted changes" in errors[0], done.stderr
    assert world.commit[:12] in errors[0]
    assert TAG_REPRODUCED not in version_tags(world.uri, version)


def test_an_unknown_version_is_a_user_error(world):
    done = world.reproduce("--version", "99")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: model '{MODEL_NAME}' has no version '99'; mlflow ui lists its "
                      "versions."], done.stderr


def test_a_version_trained_from_a_git_url_is_rebuilt_from_that_url(world, tmp_path):
    upstream = tmp_path / "upstream"
    git(tmp_path, "clone", "--quiet", str(world.repo), str(upstream))
    (upstream / "NOTES.md").write_text("a commit only the served repository has\n")
    git(upstream, "add", "NOTES.md")
    git(upstream, "commit", "--quiet", "-m", "upstream only")
    commit = git(upstream, "rev-parse", "HEAD")
    with git_daemon_serving(upstream, tmp_path / "served") as url:
        env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": world.uri}
        done = subprocess.run(
            [sys.executable, "-m", "mlflow", "run", url, "-e", "train", "--version", commit,
             "--env-manager", "local", "--experiment-name", EXPERIMENT_NAME,
             "-P", f"data_uri={world.data_uri}", "-P", "model=logistic_regression"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)
        assert done.returncode == 0, done.stderr[-4000:]
        run = newest_run(world.uri, "train")
        assert run.data.tags["mlflow.source.git.repoURL"] == url
        out = world.ok("steps.register", "--run-id", run.info.run_id).stdout
        version = re.search(r"version (\d+)", out).group(1)
        assert version_tags(world.uri, version)["pd.git_commit"] == commit
        done = world.reproduce("--version", version)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "cloning" in done.stderr  # the local repository lacks the commit
    assert version_tags(world.uri, version)[TAG_REPRODUCED] == "yes"
