"""Every bad input is one ``error:`` line, exit 2, no traceback, nothing registered, no
FINISHED run and no secret in the output (issue 14).

The catalogue: the bad loan files of tests/ingest_cases.py (through generate), out-of-range
and mistyped options of every entry point, unknown runs, models and versions, a model file
that does not load, data that does not fit, and an unreachable tracking server whose URI
holds a password. Most cases run in-process (CliRunner, exceptions not caught by the runner
are failures too); a few through real subprocesses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME
from pd_lib.params import ENTRY_POINTS
from steps.generate import generate
from steps.main import main
from steps.monitor import monitor
from steps.promote import promote
from steps.register import register
from steps.score import score
from steps.train import train
from steps.tune import tune
from tests.champion import sqlite_tracking
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import PROJECT_ROOT, env_without_mlflow_run, invoke
from tests.ingest_cases import BAD_INPUTS, make_bad_file, params_for

SECRET = "s3cr3t-Passw0rd"
COMMANDS = {"generate": generate, "train": train, "tune": tune, "register": register,
            "promote": promote, "score": score, "main": main, "monitor": monitor}


@dataclass
class World:
    """A store with loans, a champion (version 1) and a version whose model file is
    truncated (version 2), plus bad files to point steps at."""

    uri: str
    directory: Path
    data_uri: str
    generate_run: str
    train_run: str
    files: dict[str, str] = field(default_factory=dict)


def _truncate(version: str) -> None:
    local = Path(MlflowClient().get_model_version_download_uri(MODEL_NAME, version)
                 .removeprefix("file://"))
    model_file = next(local.rglob("*.skops"))
    model_file.write_bytes(model_file.read_bytes()[:100])


def _files(directory: Path, loans: pd.DataFrame) -> dict[str, str]:
    files = {"empty_rows": directory / "no_rows.parquet",
             "no_features": directory / "no_features.parquet",
             "text_features": directory / "text_features.parquet"}
    loans.head(0).to_parquet(files["empty_rows"], index=False)
    loans[["loan_id"]].to_parquet(files["no_features"], index=False)
    loans.astype({c: str for c in loans.columns if c.startswith("feature")}).to_parquet(
        files["text_features"], index=False)
    return {k: str(v) for k, v in files.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    directory = tmp_path_factory.mktemp("bad-inputs")
    runner = CliRunner()
    with sqlite_tracking(directory) as uri:
        assert invoke(runner, generate, SMALL).exit_code == 0
        generate_run = _only_run("generate").info.run_id
        data_uri = f"runs:/{generate_run}/{LOANS_ARTIFACT}"
        for _ in range(2):
            result = invoke(runner, train, ["--data-uri", data_uri, "--model",
                                            "logistic_regression"])
            assert result.exit_code == 0, result.output
            train_run = _only_run("train").info.run_id
            assert invoke(runner, register, ["--run-id", train_run]).exit_code == 0
        assert invoke(runner, promote, ["--version", 1]).exit_code == 0
        _truncate("2")
        import mlflow

        loans = pd.read_parquet(mlflow.artifacts.download_artifacts(data_uri))
        world = World(uri, directory, data_uri, generate_run, train_run,
                      _files(directory, loans))
        yield world


def _typed_option_cases() -> list[tuple[str, list[str]]]:
    """Every int and float option of every entry point, given text."""
    cases = []
    for step, group in ENTRY_POINTS.items():
        for param in group:
            if param.type in (int, float) and not param.choices:
                cases.append((step, [f"--{param.name.replace('_', '-')}", "lots"]))
    return cases


def _value_cases() -> list[tuple[str, list[str]]]:
    """Options with values the entry points refuse (D = the world's data URI)."""
    d = ["--data-uri", "D"]
    cases = [
        ("generate", ["--n-samples", "0"]), ("generate", ["--n-samples", "-5"]),
        ("generate", ["--source", "make_classification", "--n-features", "0"]),
        ("generate", ["--default-rate", "0"]),
        ("generate", ["--default-rate", "1"]), ("generate", ["--default-rate", "1.5"]),
        ("generate", ["--default-rate", "-0.1"]), ("generate", ["--default-rate", "nan"]),
        ("generate", ["--source", "bogus_generator"]),
        ("generate", ["--source", "make_classification", "--n-samples", "5"]),
        ("train", [*d, "--test-size", "0"]), ("train", [*d, "--test-size", "1"]),
        ("train", [*d, "--test-size", "1.5"]), ("train", [*d, "--test-size", "-0.2"]),
        ("train", [*d, "--test-size", "nan"]),
        ("train", [*d, "--threshold", "2"]), ("train", [*d, "--threshold", "-0.1"]),
        ("train", [*d, "--threshold", "0"]), ("train", [*d, "--threshold", "1"]),
        ("train", [*d, "--threshold", "nan"]), ("train", [*d, "--threshold", "inf"]),
        ("train", [*d, "--model", "bogus"]), ("train", [*d, "--monotone", "dti=2"]),
        ("train", [*d, "--n-estimators", "-3"]), ("train", [*d, "--max-depth", "-1"]),
        ("train", [*d, "--min-samples-leaf", "-1"]), ("train", [*d, "--split", "bogus"]),
        ("train", [*d, "--model", "scorecard", "--pdo", "-20"]),
        ("train", [*d, "--model", "scorecard", "--base-odds", "-1"]),
        ("train", ["--data-uri", "runs:/0123456789abcdef0123456789abcdef/data/loans.parquet"]),
        ("train", ["--data-uri", "/nowhere/loans.parquet"]),
        ("train", ["--data-uri", "G/data/nothing.parquet"]),
        ("train", ["--data-uri", "NOROWS"]), ("train", ["--data-uri", "NOFEATURES"]),
        ("tune", [*d, "--grid", "learning_rate=-1,0.1"]),
        ("tune", [*d, "--grid", "learning_rate=abc"]), ("tune", [*d, "--grid", "bogus=1,2"]),
        ("tune", [*d, "--grid", "max_depth=-3"]), ("tune", [*d, "--grid", "learning_rate"]),
        ("tune", [*d, "--grid", ";;"]), ("tune", [*d, "--search", "bogus"]),
        ("tune", [*d, "--cv", "1"]), ("tune", [*d, "--cv", "0"]),
        ("tune", [*d, "--model", "bogus"]), ("tune", [*d, "--threshold", "2"]),
        ("register", ["--run-id", "0123456789abcdef0123456789abcdef"]),
        ("register", ["--run-id", ""]), ("register", ["--run-id", "runs:/"]),
        ("register", ["--run-id", "G"]),
        ("promote", ["--stage", "Bogus"]), ("promote", ["--force", "true"]),
        ("promote", ["--version", "99"]), ("promote", ["--version", "abc"]),
        ("promote", ["--model-name", "no_such_model"]),
        ("promote", ["--version", "2"]), ("promote", ["--version", "2", "--stage", "Staging"]),
        ("promote", ["--version", "2", "--force", "true", "--reason", "we must"]),
        ("score", []), ("score", ["--data-uri", "/nowhere/loans.parquet"]),
        ("score", ["--data-uri", "NOROWS"]), ("score", ["--data-uri", "NOFEATURES"]),
        ("score", ["--data-uri", "TEXTFEATURES"]),
        ("score", [*d, "--model-uri", "models:/no_such_model@champion"]),
        ("score", [*d, "--model-uri", f"models:/{MODEL_NAME}/2"]),
        ("score", [*d, "--model-uri", f"models:/{MODEL_NAME}/99"]),
        ("score", [*d, "--model-uri", "runs:/0123456789abcdef0123456789abcdef/model"]),
        ("score", [*d, "--engine", "bogus"]), ("score", [*d, "--output-path", "/tmp/x"]),
        ("score", [*d, "--reasons", "-1"]), ("score", [*d, "--reasons", "99"]),
        ("monitor", []), ("monitor", ["--data-uri", "/nowhere/loans.parquet"]),
        ("monitor", ["--data-uri", "NOFEATURES"]), ("monitor", [*d, "--engine", "bogus"]),
        ("monitor", [*d, "--fail-on", "bogus"]),
        ("monitor", [*d, "--model-uri", "models:/no_such_model@champion"]),
        ("monitor", [*d, "--model-uri", "runs:/0123456789abcdef0123456789abcdef/model"]),
        ("generate", ["--scenario", "bogus"]),
        ("generate", ["--source", "make_classification", "--scenario", "downturn"]),
        ("main", ["--stage", "Bogus"]), ("main", ["--force", "true"]),
        ("main", ["--threshold", "2"]), ("main", ["--test-size", "2"]),
        ("main", ["--grid", "learning_rate=-1,0.1"]), ("main", ["--model", "bogus"]),
        ("main", ["--default-rate", "2"]), ("main", ["--search", "bogus"]),
    ]
    return cases


def _named_cases() -> list[tuple[str, list[str], str]]:
    """Issue 29: accepted, or a traceback, before. Each with the part of its one error line
    that names the value and the limit."""
    d = ["--data-uri", "D"]
    leaf = "leaves no split in 640 training rows"
    cases = [
        ("generate", ["--target", ""], "target '' names no column"),
        ("main", ["--target", ""], "target '' names no column"),
        ("train", [*d, "--model", "random_forest", "--min-samples-leaf", "100000"],
         f"min_samples_leaf 100000 {leaf}"),
        ("train", [*d, "--model", "scorecard", "--min-samples-leaf", "321"],
         f"min_samples_leaf 321 {leaf}"),
        ("train", [*d, "--model", "auto", "--min-samples-leaf", "5000"],
         f"min_samples_leaf 5000 {leaf}"),
        ("train", [*d, "--model", "scorecard", "--pdo", "0"], "pdo (points to double the odds)"),
        ("train", [*d, "--seed", "-1"], "seed must be between 0 and 4294967295; got -1"),
        ("tune", [*d, "--cv", "900"], "cv 900 is more folds than the"),
        ("tune", [*d, "--cv", "200"], "cv 200 is more folds than the"),
        ("tune", [*d, "--model", "random_forest", "--grid", "min_samples_leaf=5,100000"],
         "min_samples_leaf 100000 leaves no split"),
    ]
    cases += [
        ("train", ["--data-uri", "http://127.0.0.1:9/loans.parquet"],
         "data_uri 'http://127.0.0.1:9/loans.parquet' is a web address"),
        ("score", ["--data-uri", "https://example.com/loans.parquet"], "is a web address"),
        ("train", ["--data-uri", "DIR"], "is a directory, not a file"),
        ("score", ["--data-uri", "DIR"], "is a directory, not a file"),
        ("monitor", ["--data-uri", "DIR"], "is a directory, not a file"),
        ("generate", ["--source", "DIR"], "is a directory, not a file"),
        ("generate", ["--n-samples", "10000000000000"],
         "n_samples 10000000000000 needs about 4.4 PiB of memory"),
        ("generate", ["--source", "make_classification", "--n-samples", "1000000000000"],
         "n_samples 1000000000000 needs about"),
        ("main", ["--n-samples", "10000000000000"], "n_samples 10000000000000 needs about"),
        ("main", ["--env-manager", "bogus"], "unknown env_manager 'bogus'"),
        ("train", [*d, "--model", "random_forest", "--n-estimators", "10000000"],
         "n_estimators 10000000 is more than 10,000 trees"),
        ("main", ["--n-estimators", "20000"], "n_estimators 20000 is more than 10,000 trees"),
    ]
    names = {"a\nb": "'a\\nb' is not a usable name", "m" * 600: "'mmmm",
             "team/pd": "'team/pd' is not a usable name",
             "pd<script>": "'pd<script>' is not a usable name",
             "$(touch x)": "'$(touch x)' is not a usable name", "": "'' is not a usable name",
             "pd_model_v1.promote-lock": "'pd_model_v1.promote-lock' is reserved"}
    for name, message in names.items():
        for step, extra in (("register", ["--run-id", "G"]), ("promote", []), ("main", [])):
            cases.append((step, ["--model-name", name, *extra], f"model_name {message}"))
    return cases


NAMED_CASES = _named_cases()


@pytest.mark.parametrize(("step", "args", "message"), NAMED_CASES,
                         ids=[f"{s} {' '.join(a)[:60]!r}" for s, a, _ in NAMED_CASES])
def test_bad_value_is_one_line_naming_it(world, step, args, message):
    assert message in _run_case(world, step, args)


def _not_sqlite(db: Path, world: World) -> None:
    db.write_bytes(b"this is not a database" * 100)


def _malformed(db: Path, world: World) -> None:
    data = bytearray(Path(world.uri.removeprefix("sqlite:///")).read_bytes())
    data[100:8192] = b"\xff" * (8192 - 100)  # past the header: the schema pages
    db.write_bytes(bytes(data))


def _directory(db: Path, world: World) -> None:
    db.mkdir()


@contextlib.contextmanager
def _immutable(db: Path) -> Iterator[None]:
    """``db`` read-only even for root (chmod does not stop root; chattr +i does)."""
    done = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not available here ({done.stderr.decode().strip()})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


BROKEN_STORES = {
    "not an sqlite file": (_not_sqlite, "is not an SQLite database"),
    "malformed sqlite file": (_malformed, "cannot be opened (database disk image is malformed)"),
    "a directory": (_directory, "is a directory, not a database file"),
}


@pytest.mark.parametrize("kind", [*BROKEN_STORES, "read-only"])
@pytest.mark.parametrize("step,args", [("generate", []), ("promote", []), ("main", [])])
def test_broken_store_is_one_line(world, tmp_path, kind, step, args):
    """Issue 29: SQLAlchemy's traceback before."""
    db = tmp_path / "mlflow.db"
    with contextlib.ExitStack() as stack:
        if kind == "read-only":
            shutil.copy(world.uri.removeprefix("sqlite:///"), db)
            stack.enter_context(_immutable(db))
            message = "is read-only (its file cannot be written"
        else:
            make, message = BROKEN_STORES[kind]
            make(db, world)
        with sqlite_tracking(tmp_path):
            result = CliRunner().invoke(COMMANDS[step], args)
    _assert_one_line(result.exit_code, result.stdout, result.stderr, result.exception)
    assert f"the MLflow store {db} {message}" in result.stderr


# Root reads a file whatever its mode, through these two capabilities: without them (setpriv,
# util-linux) a root process obeys the mode bits as any user does.
WITHOUT_FILE_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                         "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("step,name", [("generate", "loans.csv"), ("train", "loans.parquet")])
def test_unreadable_file_is_one_line(world, tmp_path, step, name):
    path = tmp_path / name
    path.write_text("a,b\n")
    path.chmod(0)
    option = "--source" if step == "generate" else "--data-uri"
    if os.geteuid() != 0:
        message = _run_case(world, step, [option, str(path)])
    else:  # as root: the real step, run without the capabilities that ignore a file's mode
        if shutil.which("setpriv") is None:
            pytest.skip("root reads a file whatever its mode, and setpriv is not here")
        before = _snapshot(world.uri)
        done = subprocess.run(
            [*WITHOUT_FILE_OVERRIDE, sys.executable, "-m", f"steps.{step}", option, str(path)],
            cwd=PROJECT_ROOT, env={**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": world.uri},
            capture_output=True, text=True, timeout=300)
        _assert_one_line(done.returncode, done.stdout, done.stderr)
        assert _snapshot(world.uri) == before
        message = done.stderr
    assert "cannot be read (permission denied)" in message


@contextlib.contextmanager
def _mlmodel_replaced(version: str, text: str) -> Iterator[None]:
    local = Path(MlflowClient().get_model_version_download_uri(MODEL_NAME, version)
                 .removeprefix("file://"))
    mlmodel = local / "MLmodel"
    saved = mlmodel.read_bytes()
    mlmodel.write_text(text)
    try:
        yield
    finally:
        mlmodel.write_bytes(saved)


@pytest.mark.parametrize("text", ["flavors: [unclosed\n  : : bad\n", "just a string\n",
                                  "flavors: 3\nsignature: [1]\n"])
@pytest.mark.parametrize("step,args", [
    ("promote", ["--version", "2"]),
    ("score", ["--data-uri", "D", "--model-uri", f"models:/{MODEL_NAME}/2"]),
    ("monitor", ["--data-uri", "D", "--model-uri", f"models:/{MODEL_NAME}/2"]),
])
def test_damaged_mlmodel_is_one_line(world, step, args, text):
    """Issue 29: a YAML error or an AttributeError from MLflow's reader before."""
    with sqlite_tracking(world.directory), _mlmodel_replaced("2", text):
        message = _run_case(world, step, args)
    assert f"the MLmodel file of model 'models:/{MODEL_NAME}/2' is damaged" in message


def test_damaged_champion_is_named_not_blamed_on_columns(world):
    """Issue 29: with the champion's MLmodel damaged, a good challenger was refused with
    'the two take different columns'; the refusal names the champion's unloadable model."""
    runner = CliRunner()
    with sqlite_tracking(world.directory):
        result = invoke(runner, train, ["--data-uri", world.data_uri, "--model",
                                        "logistic_regression", "--seed", "7"])
        assert result.exit_code == 0, result.output
        run_id = MlflowClient().search_runs(
            [_only_run("train").info.experiment_id], "tags.`mlflow.runName` = 'train-"
            "logistic_regression'", order_by=["attributes.start_time DESC"])[0].info.run_id
        assert invoke(runner, register, ["--run-id", run_id]).exit_code == 0
        version = str(max(int(v.version) for v in MlflowClient().search_model_versions(
            f"name = '{MODEL_NAME}'")))
        with _mlmodel_replaced("1", "flavors: [unclosed\n"):
            result = CliRunner().invoke(promote, ["--version", version])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "champion version 1's model cannot be loaded (ParserError" in result.stderr
    assert "different columns" not in result.stderr


def _resolve(args: list[str], world: World) -> list[str]:
    names = {"D": world.data_uri, "G": world.generate_run, "NOROWS": world.files["empty_rows"],
             "NOFEATURES": world.files["no_features"],
             "TEXTFEATURES": world.files["text_features"], "DIR": str(world.directory)}
    out = []
    for arg in args:
        if arg.startswith("G/"):
            arg = f"runs:/{world.generate_run}/{arg[2:]}"
        out.append(names.get(arg, arg))
    return out


def _snapshot(uri: str) -> tuple[int, int]:
    """(model versions in the registry, FINISHED runs in every experiment)."""
    client = MlflowClient(tracking_uri=uri)
    versions = len(client.search_model_versions(max_results=1000))
    experiments = [e.experiment_id for e in client.search_experiments()]
    finished = len(client.search_runs(experiments, "attributes.status = 'FINISHED'",
                                      max_results=10000))
    return versions, finished


def _assert_one_line(exit_code: int, stdout: str, stderr: str, exception=None) -> None:
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert exit_code == 2, stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stdout + stderr
    assert SECRET not in stdout + stderr


def _run_case(world: World, step: str, args: list[str]) -> str:
    before = _snapshot(world.uri)
    with sqlite_tracking(world.directory):
        result = CliRunner().invoke(COMMANDS[step], _resolve(args, world))
    _assert_one_line(result.exit_code, result.stdout, result.stderr, result.exception)
    assert _snapshot(world.uri) == before
    return result.stderr


CASES = _typed_option_cases() + _value_cases()


@pytest.mark.parametrize(("step", "args"), CASES,
                         ids=[f"{s} {' '.join(a)}" for s, a in CASES])
def test_bad_option_is_one_line(world, step, args):
    _run_case(world, step, args)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_loan_file_is_one_line(world, case, tmp_path):
    path = make_bad_file(case, tmp_path)
    args = ["--source", str(path)]
    for name, value in params_for(case).items():
        args += [f"--{name.replace('_', '-')}", value]
    _run_case(world, "generate", args)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


UNREACHABLE_STEPS = [("generate", []), ("train", ["--data-uri", "D"]),
                     ("register", ["--run-id", "G"]), ("promote", []),
                     ("score", ["--data-uri", "D"]), ("main", []),
                     ("monitor", ["--data-uri", "D"])]


@pytest.mark.parametrize(("step", "args"), UNREACHABLE_STEPS, ids=[s for s, _ in UNREACHABLE_STEPS])
def test_unreachable_server_is_one_line_without_its_password(world, step, args, monkeypatch):
    before = _snapshot(world.uri)
    server = f"http://alice:{SECRET}@127.0.0.1:{_closed_port()}"
    with sqlite_tracking(world.directory):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        import mlflow

        mlflow.set_tracking_uri(server)
        result = CliRunner().invoke(COMMANDS[step], _resolve(args, world))
    _assert_one_line(result.exit_code, result.stdout, result.stderr, result.exception)
    assert "alice:***@127.0.0.1" in result.stderr
    assert _snapshot(world.uri) == before


SUBPROCESS_CASES = [
    ("steps.tune", ["--data-uri", "D", "--grid", "learning_rate=-1,0.1"], {}),
    ("steps.score", ["--data-uri", "D", "--model-uri", f"models:/{MODEL_NAME}/2"], {}),
    ("steps.main", ["--stage", "Bogus"], {}),
    ("steps.generate", [], {"MLFLOW_TRACKING_URI": f"http://bob:{SECRET}@127.0.0.1:9",
                            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}),
]


@pytest.mark.parametrize(("module", "args", "env"), SUBPROCESS_CASES,
                         ids=[m for m, _, _ in SUBPROCESS_CASES])
def test_bad_input_through_a_real_process(world, module, args, env):
    before = _snapshot(world.uri)
    full_env = {**env_without_mlflow_run(), "MLFLOW_TRACKING_URI": world.uri, **env}
    done = subprocess.run([sys.executable, "-m", module, *_resolve(args, world)],
                          cwd=PROJECT_ROOT, env=full_env, capture_output=True, text=True,
                          timeout=600)
    _assert_one_line(done.returncode, done.stdout, done.stderr)
    assert _snapshot(world.uri) == before


def test_the_catalogue_is_large_enough():
    total = (len(CASES) + len(NAMED_CASES) + len(BAD_INPUTS) + len(UNREACHABLE_STEPS)
             + len(SUBPROCESS_CASES))
    assert total >= 120, total
