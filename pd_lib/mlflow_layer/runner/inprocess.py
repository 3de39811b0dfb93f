"""Run an MLproject entry point inside this Python process, as a real ``mlflow run`` child.

Why: ``main`` chains five steps. Run as ``mlflow run`` subprocesses, each one starts Python
and imports mlflow, pandas and scikit-learn again: 3-6 s of CPU per step, more than the work
of most steps at 100k rows. With ``env_manager=local`` the step would run in this very
interpreter anyway, so ``main`` runs it here instead.

The child run is still the one ``mlflow run`` makes: MLflow's own project functions fetch and
validate the project, create the run (user, source, git commit, ``mlflow.project.entryPoint``
and ``mlflow.parentRunId`` tags) and log its parameters; MLflow's own formatting builds the
entry point's command line, which is handed to the step's click command instead of a shell.
The step attaches to the run through ``MLFLOW_RUN_ID`` as under ``mlflow run``; a run the
step leaves unfinished is set FINISHED or FAILED as ``mlflow run`` does. Reuse of finished
runs is unchanged. The run is tagged ``pd.in_process=true``.

What is given up: process isolation. A crash (segfault, out-of-memory kill) of a step ends
``main`` too, and steps share one interpreter (thread-pool limits, logging, loaded modules).
Other env managers (virtualenv, uv, conda) need their own interpreter and always run as
subprocesses; ``PD_STEPS_IN_SUBPROCESS=1`` forces subprocesses with ``local`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import click
import mlflow
from mlflow.entities import RunStatus
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.mlflow_internals import MLFLOW_PROJECT_BACKEND, project_functions

log = logging.getLogger("pd_pipeline")

# The click command of a step module, by its name (``steps.train``).
CommandLoader = Callable[[str], click.Command]
TAG_IN_PROCESS = "pd.in_process"


def step_argv(command: str) -> tuple[str, list[str]]:
    """``python -m steps.x --a 1`` -> (``steps.x``, [``--a``, ``1``]), split like a shell does."""
    argv = shlex.split(command)
    if len(argv) < 3 or argv[0] != "python" or argv[1] != "-m" or not argv[2].startswith("steps."):
        raise ValueError(f"not a 'python -m steps.<name>' command: {command!r}")
    return argv[2], argv[3:]


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke_step(command: click.Command, module_name: str, args: list[str]) -> bool:
    """Call the click command as its ``__main__`` would; True if it succeeded."""
    try:
        command.main(args=args, prog_name=f"python -m {module_name}", standalone_mode=False)
        return True
    except SystemExit as exc:  # exit_on_user_error prints "error: ..." and exits 2
        return exc.code in (0, None)
    except click.ClickException as exc:  # bad option: the usage error a shell would show
        exc.show()
        return False
    except click.Abort:
        return False
    except Exception:  # a bug: show the traceback, as the subprocess's stderr would
        traceback.print_exc()
        return False


def _restore_active_run(parent_run_id: str | None) -> None:
    """End any run a step left active above ``main``'s own (a step bug must not leak)."""
    while (active := mlflow.active_run()) is not None and active.info.run_id != parent_run_id:
        log.warning("step left run %s active; ending it", active.info.run_id)
        mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))


@dataclass(frozen=True)
class StepLaunch:
    """A step's child run, created as ``mlflow run`` creates it, and how to run its command."""

    run_id: str
    experiment_id: str
    work_dir: str
    command: str
    module_name: str
    args: list[str]

    def environment(self) -> dict[str, str]:
        """The variables ``mlflow run`` gives its command: the run, experiment and store."""
        return {"MLFLOW_RUN_ID": self.run_id, "MLFLOW_EXPERIMENT_ID": str(self.experiment_id),
                "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}


def close_if_open(run_id: str, status: str) -> None:
    """End a step's run with ``status`` unless the step already ended it (as ``mlflow run``
    does for a command that exits without ending its run)."""
    client = MlflowClient()
    if not RunStatus.is_terminated(RunStatus.from_string(client.get_run(run_id).info.status)):
        client.set_terminated(run_id, status)


def create_step_run(project_dir: Path, entry_point: str, params: dict[str, str],
                    experiment_id: str, tags: Mapping[str, str]) -> StepLaunch:
    """Fetch and validate the project, create the child run of the active run with MLflow's
    own functions (its tags, its logged parameters), tag it, and build the command line."""
    fetch_and_validate_project, load_project, get_or_create_run = project_functions()
    uri = str(project_dir)
    work_dir = fetch_and_validate_project(uri, None, entry_point, params)
    project = load_project(work_dir)
    command = project.get_entry_point(entry_point).compute_command(params, None)
    module_name, args = step_argv(command)
    run = get_or_create_run(None, uri, experiment_id, work_dir, None, entry_point, params)
    client = MlflowClient()
    for key, value in {MLFLOW_PROJECT_BACKEND: "local", **tags}.items():
        client.set_tag(run.info.run_id, key, value)
    return StepLaunch(run.info.run_id, experiment_id, work_dir, command, module_name, args)


def run_in_process(
    project_dir: Path, entry_point: str, params: dict[str, str], experiment_id: str,
    load_command: CommandLoader,
) -> str:
    """Run ``entry_point`` here as a child run of the active run; returns the run id.

    ``load_command`` gives the click command of a step module (``steps.train`` -> its
    command): the steps package passes it in, so this library never imports the steps.

    Raises ExecutionException when the step fails, as ``mlflow.projects.run`` does.
    """
    launch = create_step_run(project_dir, entry_point, params, experiment_id,
                             {TAG_IN_PROCESS: "true"})
    run_id = launch.run_id
    click_command = load_command(launch.module_name)
    log.info("=== Running command '%s' in this process in run with ID '%s' ===",
             launch.command, run_id)
    parent = mlflow.active_run()
    succeeded = False
    try:
        with _environ(launch.environment()), contextlib.chdir(launch.work_dir):
            succeeded = invoke_step(click_command, launch.module_name, launch.args)
    finally:
        _restore_active_run(parent.info.run_id if parent else None)
        close_if_open(run_id, "FINISHED" if succeeded else "FAILED")
    if not succeeded:
        raise ExecutionException(f"Run (ID '{run_id}') failed")
    log.info("=== Run (ID '%s') succeeded ===", run_id)
    return run_id
