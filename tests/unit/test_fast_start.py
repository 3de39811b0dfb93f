"""--help and a mistyped option answer before pandas, scikit-learn or mlflow are imported
(issue 13: they took 4-10 s), for every step an MLproject entry point runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pd_lib.params import ENTRY_POINTS
from tests.helpers import PROJECT_ROOT

HEAVY = ("mlflow", "pandas", "sklearn", "matplotlib", "scipy")
PROBE = """
import sys
from click.testing import CliRunner
from steps import step_command
command = step_command("steps.{name}")
result = CliRunner().invoke(command, {args!r})
print(result.exit_code)
print(",".join(m for m in {heavy!r} if m in sys.modules))
print(result.output.splitlines()[0] if result.output else "")
"""


def _probe(name: str, args: list[str]) -> tuple[int, str, str]:
    code = PROBE.format(name=name, args=args, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    return int(out[0]), out[1], out[2] if len(out) > 2 else ""


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_help_imports_nothing_heavy(name):
    exit_code, heavy, first_line = _probe(name, ["--help"])
    assert exit_code == 0 and first_line.startswith("Usage:")
    assert heavy == "", f"steps.{name} --help imported {heavy}"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_mistyped_option_fails_at_once_in_one_line(name):
    exit_code, heavy, first_line = _probe(name, ["--no-such-option"])
    assert exit_code == 2
    assert first_line.startswith("error:") and "--no-such-option" in first_line
    assert heavy == "", f"steps.{name} imported {heavy} to refuse an option"


@pytest.mark.parametrize(("name", "args", "message"), [
    ("train", ["--test-size", "1.5"], "test_size must be between 0 and 1"),
    ("main", ["--test-size", "1.5"], "test_size must be between 0 and 1"),
    ("promote", ["--stage", "Prod"], "unknown stage 'Prod'"),
    ("tune", ["--cv", "1"], "cv must be at least 2 folds"),
    ("score", ["--data-uri", "x.csv", "--reasons", "99"], "reasons must be between 0 and 20"),
    ("train", ["--threshold", "2"], "threshold must be between 0 and 1"),
    ("train", ["--pdo", "0"], "pdo (points to double the odds) must be positive"),
    ("generate", ["--seed", "-1"], "seed must be between 0 and 4294967295"),
    ("register", ["--run-id", "x", "--model-name", "pd_model_v1.promote-lock"],
     "reserved for the promote lock"),
])
def test_a_bad_value_is_refused_before_any_heavy_import(name, args, message):
    exit_code, heavy, first_line = _probe(name, args)
    assert exit_code == 2
    assert first_line.startswith("error:") and message in first_line
    assert heavy == "", f"steps.{name} imported {heavy} to refuse a value"


def test_a_repeated_option_is_a_mistyped_parameter():
    """mlflow run passes -P n-samples=500 on as a second --n-samples (issue 27)."""
    exit_code, heavy, first_line = _probe("generate", ["--n-samples", "10", "--n-samples", "5"])
    assert exit_code == 2 and heavy == ""
    assert "-P n-samples is not a parameter of generate" in first_line
    assert "did you mean -P n_samples?" in first_line
