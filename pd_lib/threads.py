"""How many threads a step's OpenMP and BLAS pools may use: chosen once, at step start.

Why: HistGradientBoosting (OpenMP) and OpenBLAS run thousands of short parallel regions per
fit, each ending at a barrier where waiting threads spin. When the cores are shared with
other busy processes, a barrier waits for a descheduled thread and the spinning steals the
core it needs: on 2 shared cores a 100k-row HistGradientBoosting fit took 5-36 s with two
OpenMP threads against 1.1-3 s with one (and burned 5-15x the CPU), whatever the
OMP_WAIT_POLICY or GOMP_SPINCOUNT. On idle cores two threads are faster. So a step uses the
usable cores (CPU affinity and cgroup quota) that are idle according to the 1-minute load
average, and at least one. Results do not depend on the thread count (tests check it).
Coarse parallel work (RandomForest trees, cross-validation folds in ``tune``) goes through
joblib and is not limited here.

Override with ``PD_NUM_THREADS=<n>``; an ``OMP_NUM_THREADS`` set by the user is respected.

OpenMP's thread count is a per-thread setting: a limit set in the main thread does not reach
threads started later (joblib's threading backend in ``tune``, the request threads of
``mlflow models serve``), which use every core. So PDModel fits and predicts inside
:func:`openmp_threads`, which applies the count in the calling thread: the step's choice
(shared by parallel fits), and one thread for a batch of at most SMALL_BATCH_ROWS rows,
where waking a team of threads costs more than it saves.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

log = logging.getLogger("pd_pipeline")

THREADS_ENV = "PD_NUM_THREADS"
CGROUP_ROOT = Path("/sys/fs/cgroup")
SMALL_BATCH_ROWS = 1000

# OpenMP threads for each fit or predict of a PDModel; None: OpenMP's own default.
_openmp_threads: int | None = None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs allowed by the cgroup CPU quota (v2 ``cpu.max`` or v1 CFS), or None if unlimited."""
    v2 = root / "cpu.max"
    try:
        if v2.is_file():  # "max 100000" or "<quota> <period>"
            quota, period = (v2.read_text().split() + ["100000"])[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1_quota, v1_period = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
        if v1_quota.is_file() and v1_period.is_file():
            quota = int(v1_quota.read_text())
            return None if quota <= 0 else quota / int(v1_period.read_text())
    except (OSError, ValueError):
        return None
    return None


def usable_cores(affinity: int | None = None, quota: float | None = None) -> int:
    """Cores this process may run on: its CPU affinity, capped by the cgroup quota."""
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    if quota is not None:
        affinity = min(affinity, max(1, math.floor(quota)))
    return max(1, affinity)


def choose_threads(cores: int, load: float, env: Mapping[str, str]) -> int:
    """Threads for OpenMP and BLAS: an explicit setting, else the idle usable cores, >= 1.

    ``load`` is the 1-minute load average (runnable tasks, other processes included).
    """
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = env.get(name, "").strip()
        if value:
            try:
                return max(1, int(value.split(",")[0]))
            except ValueError:
                log.warning("ignoring %s=%r: not an integer", name, value)
    idle = math.floor(cores - load + 0.5)
    return min(cores, max(1, idle))


def limit_threads(env: Mapping[str, str] | None = None) -> int:
    """Limit this process's OpenMP and BLAS pools to :func:`choose_threads`; returns it."""
    from threadpoolctl import threadpool_limits

    env = os.environ if env is None else env
    cores = usable_cores(quota=cgroup_cpu_limit())
    threads = choose_threads(cores, os.getloadavg()[0], env)
    threadpool_limits(limits=threads)
    set_openmp_threads(threads)
    log.info("OpenMP/BLAS threads: %d (usable cores %d, load average %.2f)", threads, cores,
             os.getloadavg()[0])
    return threads


def set_openmp_threads(threads: int | None) -> int | None:
    """Set the OpenMP threads each PDModel fit or predict may use; returns the old value."""
    global _openmp_threads
    old, _openmp_threads = _openmp_threads, threads
    return old


@cache
def _openmp_controller():  # scanning the loaded libraries takes ~ms: once per process
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="openmp")


@contextlib.contextmanager
def openmp_threads(n_rows: int) -> Iterator[None]:
    """Run the block with this process's OpenMP thread count set in the calling thread."""
    threads = 1 if n_rows <= SMALL_BATCH_ROWS else _openmp_threads
    if threads is None:
        yield
        return
    with _openmp_controller().limit(limits=threads):
        yield


@contextlib.contextmanager
def fits_share_threads(parallel_fits: int) -> Iterator[None]:
    """Within the block, ``parallel_fits`` concurrent fits share this process's threads."""
    chosen = _openmp_threads or usable_cores(quota=cgroup_cpu_limit())
    old = set_openmp_threads(max(1, chosen // max(1, parallel_fits)))
    try:
        yield
    finally:
        set_openmp_threads(old)
