"""How ``main`` runs its steps: in its own process, as ``mlflow run`` subprocesses, and whether
tune runs beside train. Light on purpose (no mlflow import): ``main`` asks before it imports
the rest of this layer, to start the step server early
(:mod:`pd_lib.mlflow_layer.runner.background`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pd_lib.cores import cgroup_cpu_limit, usable_cores

SUBPROCESS_ENV = "PD_STEPS_IN_SUBPROCESS"
PARALLEL_ENV = "PD_PARALLEL_STEPS"


def _flag(env: Mapping[str, str], name: str, values: tuple[str, ...]) -> bool:
    return env.get(name, "").strip().lower() in values


def runs_in_process(env_manager: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``main`` runs its steps here: only with the local env manager, unless forced."""
    env = os.environ if env is None else env
    return env_manager == "local" and not _flag(env, SUBPROCESS_ENV, ("1", "true", "yes"))


def parallel_steps(env_manager: str, env: Mapping[str, str] | None = None,
                   cores: int | None = None) -> bool:
    """Whether ``main`` runs tune beside train: steps in main's process (env manager local, or
    ``""`` before it is known), two usable cores or more, and ``PD_PARALLEL_STEPS`` not 0."""
    env = os.environ if env is None else env
    cores = usable_cores(quota=cgroup_cpu_limit()) if cores is None else cores
    return (runs_in_process(env_manager or "local", env) and cores >= 2
            and not _flag(env, PARALLEL_ENV, ("0", "false", "no")))
