"""Run one step of ``main`` in a background process while ``main`` runs another in its own.

Why: train and tune both read generate's loans and nothing of each other, and much of each is
single-threaded Python (evaluation, figures, saving the model) or small OpenMP regions that do
not fill two cores. So ``main`` starts tune in a process of its own and runs train in its own
process meanwhile (:mod:`pd_lib.mlflow_layer.runner.inprocess`), then waits for tune.

A new Python process would spend 5-8 s importing mlflow, scikit-learn, pandas and matplotlib
again (more than tune's head start is worth). So ``main`` starts a fork server when it starts
(:func:`start_step_server`): a process that imports those modules beside ``main``'s own start,
and from which the background step is forked with everything already imported (a fresh fork of
a process that has no threads, no store connections and no fitted state).

The background step is the child run ``mlflow run`` would create (MLflow's own functions, as
for the in-process steps), running the entry point's own click command line, tagged
``pd.background=true``. Each step gets its share of main's cores in its environment
(:mod:`pd_lib.cores`); when one of the two ends, main grants its cores to the other: down the
step's lifeline pipe, or in main's own process. Its output lines are prefixed with the step's
name.

It never outlives ``main``: if the foreground step fails or ``main`` is interrupted, it is
terminated and its run marked KILLED; if ``main``'s process dies outright (killed), the step
sees the end of a pipe only ``main`` holds open and terminates itself. Off with
``PD_PARALLEL_STEPS=0``, with one usable core, and where ``main`` runs its steps as ``mlflow
run`` subprocesses (env managers other than local, ``PD_STEPS_IN_SUBPROCESS=1``). The step
server and multiprocessing's resource tracker are stopped when main ends
(:func:`stop_step_server`): no process of main outlives it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pd_lib.cores import THREADS_ENV, grant
from pd_lib.errors import TERMINATED_EXIT_CODE, Terminated

if TYPE_CHECKING:  # the rest of this layer imports mlflow: not before the server starts
    from pd_lib.mlflow_layer.runner.inprocess import CommandLoader

log = logging.getLogger("pd_pipeline")

TAG_BACKGROUND = "pd.background"
GRANT = "cores"  # main to its background step: (GRANT, n), the step beside it has ended
STOP_GRACE_SECONDS = 10.0


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("forkserver")


def start_step_server(preload: Sequence[str]) -> None:
    """Start the fork server now, importing ``preload`` while ``main`` goes on; returns at
    once (a background step started before it is ready waits for it). Call it before anything
    loads a logged model: loading one puts the model's code directory first on sys.path, and
    the server takes this process's sys.path."""
    from multiprocessing import forkserver

    _context().set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def stop_step_server() -> None:
    """Stop the step server and multiprocessing's resource tracker, if this process started
    them, and wait for both: they would otherwise end only after main's process has (when
    they see the end of its pipes). Their ``_stop`` methods are the ones CPython's own tests
    use (tests/unit/test_background_pipe.py pins them)."""
    from multiprocessing import forkserver, resource_tracker

    forkserver._forkserver._stop()
    resource_tracker._resource_tracker._stop()


class _PrefixedLines(io.RawIOBase):
    """Bytes written are passed on line by line, each line prefixed."""

    def __init__(self, target: IO[bytes], prefix: str):
        self.target, self.prefix, self.pending = target, prefix.encode(), b""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        *lines, self.pending = (self.pending + bytes(data)).split(b"\n")
        for line in lines:
            self.target.write(self.prefix + line + b"\n")
        if lines:
            self.target.flush()
        return len(data)

    def close(self) -> None:
        if self.pending:
            self.target.write(self.prefix + self.pending + b"\n")
            self.target.flush()
            self.pending = b""
        super().close()


def _prefixed(stream: IO[str], prefix: str) -> IO[str]:
    return io.TextIOWrapper(io.BufferedWriter(_PrefixedLines(stream.buffer, prefix)),
                            encoding="utf-8", errors="backslashreplace", line_buffering=True)


def _exit_with_main(watch: Connection) -> None:
    """Terminate this process when ``main`` closes its end of ``watch``, as it does when it
    dies: a thread waits on the pipe. (A fork server's child cannot use the parent-death
    signal: its parent is the server, which lives as long as its children.) Until then, a
    (GRANT, n) message from main gives the step n cores from its next fit or predict on."""
    def wait() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                message = watch.recv()
                if isinstance(message, tuple) and message[:1] == (GRANT,):
                    grant(message[1])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="exit-with-main", daemon=True).start()


def _run_step(load_command: CommandLoader, module_name: str, args: list[str],
              env: dict[str, str], work_dir: str, prefix: str, watch: Connection) -> None:
    """The background process: run the step's click command as ``mlflow run`` would."""
    from pd_lib.mlflow_layer.runner.inprocess import invoke_step

    _exit_with_main(watch)
    sys.stdout, sys.stderr = _prefixed(sys.stdout, prefix), _prefixed(sys.stderr, prefix)
    os.environ.clear()  # main's environment now, not the server's when it started
    os.environ.update(env)
    os.chdir(work_dir)
    try:
        succeeded = invoke_step(load_command(module_name), module_name, args)
    except Terminated:  # main stopped it, or main is gone: main's own line says why
        sys.exit(TERMINATED_EXIT_CODE)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(0 if succeeded else 1)


@dataclass
class BackgroundStep:
    """A step running in its own process: wait for it, or stop it."""

    entry_point: str
    run_id: str
    process: BaseProcess
    started: float
    lifeline: Connection  # main's end of the child's watch pipe; closed when the step ends

    def wait(self) -> bool:
        """Wait for the step to end; True if it succeeded. A run it left open is closed."""
        try:
            self.process.join()
        except BaseException:  # interrupted while waiting: stop it rather than orphan it
            self.cancel()
            raise
        code = self.process.exitcode
        self._close("FINISHED" if code == 0 else "FAILED")
        log.info("%s run %s %s after %.1f s in the background", self.entry_point, self.run_id,
                 "succeeded" if code == 0 else f"failed (exit code {code})",
                 time.monotonic() - self.started)
        return code == 0

    def grant(self, cores: int) -> None:
        """Give the step ``cores`` (main's own step beside it has ended) from its next fit or
        predict on (pd_lib.cores.grant)."""
        with contextlib.suppress(OSError):
            self.lifeline.send((GRANT, cores))

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` in a thread of main's as soon as the step's process ends."""
        def wait() -> None:
            multiprocessing.connection.wait([self.process.sentinel])
            callback()

        threading.Thread(target=wait, name=f"{self.entry_point}-done", daemon=True).start()

    def cancel(self) -> None:
        """Terminate the step if it still runs (SIGTERM, then SIGKILL after a grace period)
        and mark its run KILLED (a step stopped by SIGTERM first closes it as FAILED)."""
        stopped = self.process.is_alive()
        if stopped:
            log.warning("stopping %s run %s (process %d)", self.entry_point, self.run_id,
                        self.process.pid)
            self.process.terminate()
            self.process.join(STOP_GRACE_SECONDS)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self._close("KILLED", always=stopped)

    def _close(self, status: str, always: bool = False) -> None:
        """The step has ended: let go of its lifeline and end its run with ``status`` if it
        left it open (``always``: whatever the step set)."""
        from mlflow.tracking import MlflowClient

        from pd_lib.mlflow_layer.runner.inprocess import close_if_open

        self.lifeline.close()
        if always:
            MlflowClient().set_terminated(self.run_id, status)
        else:
            close_if_open(self.run_id, status)


def start_in_background(project_dir: Path, entry_point: str, params: dict[str, str],
                        experiment_id: str, load_command: CommandLoader,
                        cores: int | None = None) -> BackgroundStep:
    """Create ``entry_point``'s child run of the active run and start its command, on
    ``cores`` cores (None: the count this process hands down), in a process forked from the
    step server; returns at once."""
    from pd_lib.mlflow_layer.runner.inprocess import create_step_run

    launch = create_step_run(project_dir, entry_point, params, experiment_id,
                             {TAG_BACKGROUND: "true"})
    log.info("=== Running command '%s' in a background process in run with ID '%s' ===",
             launch.command, launch.run_id)
    watch, lifeline = _context().Pipe(duplex=False)
    process = _context().Process(
        target=_run_step, name=f"pd-{entry_point}",
        args=(load_command, launch.module_name, launch.args,
              {**os.environ, **launch.environment(),
               **({} if cores is None else {THREADS_ENV: str(cores)})}, launch.work_dir,
              f"{entry_point} | ", watch))
    process.start()
    watch.close()  # the child has its own copy; main keeps only the writing end
    return BackgroundStep(entry_point, launch.run_id, process, time.monotonic(), lifeline)
