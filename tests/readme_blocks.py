"""The shell commands the README files show: fenced ``bash`` blocks and inline ``mlflow run``
commands (shared by the static check and the end-to-end test that runs the blocks)."""

from __future__ import annotations

import re
import shlex

from tests.helpers import PROJECT_ROOT

READMES = ("README.md", "data/README.md", "docs/user_guide.md")
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
INLINE = re.compile(r"`(mlflow run [^`]+)`")


def shell_blocks(readme: str) -> list[str]:
    """Each fenced bash block of ``readme``, continuation lines joined."""
    text = (PROJECT_ROOT / readme).read_text()
    return [block.replace("\\\n", " ").strip() for block in BLOCK.findall(text)]


def mlflow_run_commands(readme: str) -> list[str]:
    """Every ``mlflow run`` command of ``readme``, in blocks and inline code."""
    text = (PROJECT_ROOT / readme).read_text()
    inline = [" ".join(match.split()) for match in INLINE.findall(text.replace("\n", " "))]
    in_blocks = [part.strip() for block in shell_blocks(readme)
                 for part in block.split("&&") if part.strip().startswith("mlflow run")]
    return inline + in_blocks


def unquoted_separators(command: str) -> list[str]:
    """Shell control characters (``;``, ``&``, ``|``) outside quotes: the shell would cut the
    command there."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    return [token for token in lexer if token and set(token) <= set(";&|")]
