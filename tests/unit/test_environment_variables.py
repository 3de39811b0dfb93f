"""Every ``PD_*`` environment variable is documented in one table, docs/user_guide.md's
"Environment variables": the code's variables are found as string literals in the .py files
(``os.environ.get("PD_X")``, ``THREADS_ENV = "PD_X"``, ``envvar="PD_X"``, ``env={"PD_X": ...}``)
and as words in the CI scripts; Python names such as ``PD_COL`` are constants, not variables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import PROJECT_ROOT

VARIABLE = re.compile(r"PD_[A-Z][A-Z0-9_]*")
GUIDE = PROJECT_ROOT / "docs" / "user_guide.md"
SECTION = "## Environment variables"
SKIPPED_DIRS = {"__pycache__", "_work", "site-packages", "node_modules"}


def _sources() -> list[Path]:
    """The repository's .py files, outside hidden folders (.git, .venv) and build output."""
    return [path for path in sorted(PROJECT_ROOT.rglob("*.py"))
            if not any(part.startswith(".") or part in SKIPPED_DIRS
                       for part in path.relative_to(PROJECT_ROOT).parts[:-1])]


def variables_in_python(text: str) -> set[str]:
    """The ``PD_*`` names a Python source holds as a whole string literal."""
    return {node.value for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and VARIABLE.fullmatch(node.value)}


def variables_in_script(text: str) -> set[str]:
    """The ``PD_*`` words of a shell script (``export PD_X=1``, ``${PD_X:-}``)."""
    return set(re.findall(r"\b" + VARIABLE.pattern + r"\b", text))


def used_variables() -> dict[str, list[str]]:
    """Each variable the code and the CI scripts use, with the files that use it."""
    found: dict[str, list[str]] = {}
    files = [(path, variables_in_python) for path in _sources()]
    files += [(path, variables_in_script) for path in sorted((PROJECT_ROOT / ".ci").iterdir())
              if path.is_file()]
    for path, finder in files:
        for name in finder(path.read_text()):
            found.setdefault(name, []).append(str(path.relative_to(PROJECT_ROOT)))
    return found


def documented_variables() -> set[str]:
    """The variables of the table's first column in the user guide's section."""
    text = GUIDE.read_text()
    assert SECTION in text, f"docs/user_guide.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(" + VARIABLE.pattern + r")` \|", section, re.MULTILINE))


def test_every_variable_the_code_uses_is_in_the_table():
    used = used_variables()
    missing = {name: used[name] for name in sorted(set(used) - documented_variables())}
    assert not missing, f"add to the table in docs/user_guide.md ({SECTION}): {missing}"


def test_the_table_names_no_variable_the_code_no_longer_uses():
    gone = documented_variables() - set(used_variables())
    assert not gone, f"no code reads {sorted(gone)}: remove it from docs/user_guide.md"


def test_the_finder_sees_variables_and_not_constants():
    source = ('import os\nPD_COL = "pd"\nLIMIT_ENV = "PD_NEW_LIMIT"\n'
              'os.environ.get("PD_OTHER", "1")\nprint("PD_X is set")\n')
    # Spelt in pieces: as whole literals these made-up names would count as this file's own.
    assert variables_in_python(source) == {"PD_" + "NEW_LIMIT", "PD_" + "OTHER"}
    assert variables_in_script("export PD_A=1\necho ${PD_B:-0} $PD_COLS_x\n") == {
        "PD_" + "A", "PD_" + "B"}
    assert {"PD_NUM_THREADS", "PD_REQUIRE_SYSTEM_DEPS"} <= set(used_variables())
