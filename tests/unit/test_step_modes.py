"""How main runs its steps: in its process, as subprocesses, tune beside train; and the
prefixed output of a background step."""

from __future__ import annotations

import io

from pd_lib.mlflow_layer.runner.background import _prefixed
from pd_lib.mlflow_layer.runner.step_modes import (
    PARALLEL_ENV,
    SUBPROCESS_ENV,
    parallel_steps,
    runs_in_process,
)


def test_only_the_local_env_manager_runs_in_process():
    assert runs_in_process("local", {})
    assert not runs_in_process("virtualenv", {})
    assert not runs_in_process("uv", {})
    assert not runs_in_process("local", {SUBPROCESS_ENV: "1"})
    assert not runs_in_process("local", {SUBPROCESS_ENV: "true"})


def test_tune_runs_beside_train_only_in_process_on_two_cores_unless_turned_off():
    assert parallel_steps("local", {}, cores=2)
    assert parallel_steps("", {}, cores=4)  # main's own option unset: the local default
    assert not parallel_steps("local", {}, cores=1)
    assert not parallel_steps("virtualenv", {}, cores=2)
    assert not parallel_steps("local", {SUBPROCESS_ENV: "1"}, cores=2)
    assert not parallel_steps("local", {PARALLEL_ENV: "0"}, cores=2)
    assert parallel_steps("local", {PARALLEL_ENV: "1"}, cores=2)


class _Terminal(io.StringIO):
    """A text stream with a binary buffer, like sys.stdout."""

    def __init__(self):
        super().__init__()
        self.buffer = io.BytesIO()


def test_background_output_is_prefixed_line_by_line():
    terminal = _Terminal()
    stream = _prefixed(terminal, "tune | ")
    stream.write("first line\nsecond ")
    assert terminal.buffer.getvalue() == b"tune | first line\n"  # a partial line waits
    stream.write("half\n")
    stream.write("no newline at the end")
    stream.close()
    assert terminal.buffer.getvalue().decode().splitlines() == [
        "tune | first line", "tune | second half", "tune | no newline at the end"]
