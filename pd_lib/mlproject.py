"""MLproject, written from the parameter table (:mod:`pd_lib.params`): the entry points, their
parameters with types and defaults, and the ``python -m steps.<name> --<option> {<name>}``
command lines, for the root project (python_env) and its Docker copy under
``deploy/kubernetes/project`` (docker_env: MLflow's kubernetes backend needs one, and an
MLproject may declare one environment only).

    python -m pd_lib.mlproject --write   # after changing pd_lib/params.py
    python -m pd_lib.mlproject --check   # exit 1 naming each file that is not current

``tests/unit/test_params.py`` fails while a committed file differs from what this writes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pd_lib.config import PROJECT_ROOT
from pd_lib.params import ENTRY_POINTS, Param

PROJECT_NAME = "pd-pipeline"
WRITE_COMMAND = "python -m pd_lib.mlproject --write"
ROOT_FILE = PROJECT_ROOT / "MLproject"
KUBERNETES_FILE = PROJECT_ROOT / "deploy" / "kubernetes" / "project" / "MLproject"
BASE_IMAGE = "registry.example.com/credit-risk/pd-pipeline-base:1"

# MLproject knows string, float, path and uri: an int is declared float (mlflow run checks
# float(value)); a flag is the string true or false, as click reads it.
MLPROJECT_TYPES = {str: "string", int: "float", float: "float", bool: "string"}
WIDTH = 96  # longest line of a folded command
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}

GENERATED = f"# GENERATED from pd_lib/params.py by `{WRITE_COMMAND}`: do not edit.\n"
KUBERNETES_HEADER = """\
# The pipeline as a Docker project, for `mlflow run deploy/kubernetes/project --backend
# kubernetes` (MLflow's kubernetes backend needs docker_env; an MLproject may declare one
# environment only, so the root MLproject keeps python_env). pd_lib/, steps/ and
# requirements.txt here are symlinks to the repo's own, copied into the image by mlflow's build.
# Run the steps one at a time on Kubernetes: `main` would start its steps in Docker in the pod.
"""
PYTHON_ENV = "python_env: python_env.yaml\n"
DOCKER_ENV = ("docker_env:\n"
              "  # Built from deploy/kubernetes/Dockerfile (the pinned runtime); mlflow adds the "
              "code.\n"
              f"  image: {BASE_IMAGE}\n")


def default_text(param: Param) -> str:
    """A parameter's default as ``mlflow run`` logs it: str() of the value, a flag in lower
    case (click reads ``--force false``), nothing for a required parameter."""
    if param.required or param.default is None:
        return ""
    if param.type is bool:
        return str(param.default).lower()
    return str(param.default)


def entry_point_defaults(entry_point: str) -> dict[str, str]:
    """Every parameter of ``entry_point`` with its default as ``mlflow run`` logs it."""
    return {p.name: default_text(p) for p in ENTRY_POINTS[entry_point]}


def _yaml_string(text: str) -> str:
    """``text`` as a YAML scalar that reads back as this string: plain for a simple word,
    else double-quoted (a JSON string is a valid YAML one)."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def _parameter_line(param: Param) -> str:
    kind = MLPROJECT_TYPES[param.type]
    if param.required:
        return f"      {param.name}: {{type: {kind}}}\n"
    text = default_text(param)
    value = _yaml_string(text) if kind == "string" else text
    return f"      {param.name}: {{type: {kind}, default: {value}}}\n"


def option(name: str) -> str:
    """The command-line option of a parameter: ``n_samples`` -> ``--n-samples``."""
    return "--" + name.replace("_", "-")


def command(entry_point: str) -> str:
    """The entry point's command: its step module with every parameter as an option."""
    parts = [f"python -m steps.{entry_point}"]
    parts += [f"{option(p.name)} {{{p.name}}}" for p in ENTRY_POINTS[entry_point]]
    return " ".join(parts)


def _command_lines(entry_point: str) -> str:
    """The ``command:`` of an entry point: one line when it fits, else folded (``>-``: YAML
    joins the lines with spaces), never between an option and its value."""
    one_line = f"    command: {command(entry_point)}"
    if len(one_line) <= WIDTH:
        return one_line + "\n"
    lines: list[str] = []
    line = "     "
    for part in [f"python -m steps.{entry_point}",
                 *(f"{option(p.name)} {{{p.name}}}" for p in ENTRY_POINTS[entry_point])]:
        if len(line) + 1 + len(part) > WIDTH and line.strip():
            lines.append(line)
            line = "     "
        line += " " + part
    lines.append(line)
    return "    command: >-\n" + "".join(f"{text}\n" for text in lines)


def _entry_points() -> str:
    blocks = []
    for entry_point, table in ENTRY_POINTS.items():
        blocks.append(f"  {entry_point}:\n    parameters:\n"
                      + "".join(_parameter_line(p) for p in table)
                      + _command_lines(entry_point))
    return "entry_points:\n" + "\n".join(blocks)


def render(environment: str = PYTHON_ENV, header: str = "") -> str:
    """The MLproject text: the root project's, or with another environment and header."""
    return (GENERATED + header + f"name: {PROJECT_NAME}\n\n" + environment + "\n"
            + _entry_points())


def expected_files() -> dict[Path, str]:
    """Each MLproject this repository commits, with the text it must have."""
    return {ROOT_FILE: render(),
            KUBERNETES_FILE: render(DOCKER_ENV, KUBERNETES_HEADER)}


def stale_files() -> list[Path]:
    """The MLproject files whose text is not what :func:`expected_files` writes."""
    return [path for path, text in expected_files().items()
            if not path.exists() or path.read_text() != text]


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        for path, text in expected_files().items():
            path.write_text(text)
            print(f"wrote {_shown(path)}")
        return 0
    if argv == ["--check"]:
        stale = stale_files()
        for path in stale:
            print(f"{_shown(path)} is not current: run {WRITE_COMMAND}")
        return 1 if stale else 0
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
