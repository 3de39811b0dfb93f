"""Every mlflow run command the README files show can be pasted as it is: quoted for the
shell, in the tutorial's experiment, and in the current Python (no virtualenv build)."""

from __future__ import annotations

import pytest

from tests.readme_blocks import READMES, mlflow_run_commands, shell_blocks, unquoted_separators

COMMANDS = [(readme, command) for readme in READMES for command in mlflow_run_commands(readme)]


def test_the_readmes_show_commands():
    assert len(shell_blocks("README.md")) >= 2  # the two opening commands
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize(("readme", "command"), COMMANDS)
def test_no_unquoted_semicolon_cuts_a_command(readme, command):
    assert unquoted_separators(command) == [], f"{readme}: quote the value in: {command}"


@pytest.mark.parametrize(("readme", "command"), COMMANDS)
def test_every_mlflow_run_uses_the_local_env_and_the_experiment(readme, command):
    # A run from a git URL builds python_env.yaml's environment on purpose (README says so).
    if command.split()[2] == ".":
        assert "--env-manager local" in command, f"{readme}: {command}"
    assert "--experiment-name PD_Classification_Experiment" in command, f"{readme}: {command}"


def test_the_separator_check_sees_a_cut_grid():
    assert unquoted_separators("mlflow run . -P grid=a=1,2;b=3") == [";"]
    assert unquoted_separators("mlflow run . -P grid='a=1,2;b=3'") == []
