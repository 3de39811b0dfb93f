"""How many threads a step's OpenMP and BLAS pools may use: chosen at step start, and again when
a step beside it ends.

Why: HistGradientBoosting (OpenMP) and OpenBLAS run thousands of short parallel regions per
fit, each ending at a barrier where waiting threads spin. When the cores are shared with
other busy processes, a barrier waits for a descheduled thread and the spinning steals the
core it needs: on 2 shared cores a 100k-row HistGradientBoosting fit took 5-36 s with two
OpenMP threads against 1.1-3 s with one (and burned 5-15x the CPU), whatever the
OMP_WAIT_POLICY or GOMP_SPINCOUNT. On idle cores two threads are faster. So a step uses the
usable cores (CPU affinity and cgroup quota) that other work leaves idle, and at least one.
Results do not depend on the thread count (tests check it).

Other work is the cores busy during a short sample of /proc/stat taken while this process
sleeps (what runs *now*). The 1-minute load average says what ran *lately*, which includes the
pipeline's own start (the ``mlflow run`` CLI, the previous step) and work that has already
ended: right after another job (the tutorial's script in the benchmark) it stayed at 1.6 for a
minute on an idle machine, and main's train took one thread. So when the load average
suggests more other work than the short sample saw, a longer sample decides (a neighbour
between two bursts is caught by it). Where no sample can be taken (a cgroup quota, no
/proc/stat) the load average alone decides.

RandomForest's trees go through joblib on every core and are not limited here; ``tune`` runs
as many cross-validation fits in parallel as this choice gives threads
(:func:`pd_lib.modelling.search.search_n_jobs`).

A step that runs beside another (tune beside train in main) is told when the other has ended
(:func:`choose_again_soon`): its next fit or predict makes the choice again, so its last fits
take the freed core.

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
import threading
import time
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

log = logging.getLogger("pd_pipeline")

THREADS_ENV = "PD_NUM_THREADS"
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_STAT = Path("/proc/stat")
# Seconds of /proc/stat sampling at step start: 10 clock ticks a core, 0.1-core resolution.
BUSY_SAMPLE_SECONDS = 0.1
# Seconds of the second, longer sample taken when the load average and the first disagree.
CONFIRM_SAMPLE_SECONDS = 0.4
# The load average's share that may be this pipeline's own recent work (one busy process).
OWN_LOAD = 1.0
SMALL_BATCH_ROWS = 1000

# OpenMP threads for each fit or predict of a PDModel; None: OpenMP's own default.
_openmp_threads: int | None = None
# How many choices limit_threads has made, and whether to make one again.
_choices = 0
_choose_again = threading.Event()
_choosing = threading.Lock()


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


def cpu_ticks(cpus: set[int], stat: Path = PROC_STAT) -> tuple[int, int] | None:
    """(busy, total) clock ticks of ``cpus`` since boot from /proc/stat, or None."""
    busy = total = 0
    try:
        for line in stat.read_text().splitlines():
            name, *fields = line.split()
            if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
                continue
            ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq soft steal
            total += sum(ticks)
            busy += sum(ticks) - ticks[3] - ticks[4]
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def busy_cores_now(seconds: float = BUSY_SAMPLE_SECONDS, stat: Path = PROC_STAT
                   ) -> float | None:
    """Cores of this process's affinity busy with other work over ``seconds`` (this thread
    sleeps meanwhile), or None where /proc/stat or the affinity cannot be read."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = os.sched_getaffinity(0)
    before = cpu_ticks(cpus, stat)
    if before is None:
        return None
    time.sleep(seconds)
    after = cpu_ticks(cpus, stat)
    if after is None or after[1] <= before[1]:
        return None
    return len(cpus) * (after[0] - before[0]) / (after[1] - before[1])


def explicit_threads(env: Mapping[str, str]) -> int | None:
    """The thread count the user set (``PD_NUM_THREADS``, else ``OMP_NUM_THREADS``), >= 1, or
    None; a value that is not an integer is ignored with a warning."""
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = env.get(name, "").strip()
        if value:
            try:
                return max(1, int(value.split(",")[0]))
            except ValueError:
                log.warning("ignoring %s=%r: not an integer", name, value)
    return None


def idle_threads(cores: int, load: float, busy: float | None = None) -> int:
    """The usable cores other work leaves idle, >= 1.

    ``busy`` is the cores other work keeps busy now (:func:`busy_cores_now`), when known; else
    ``load``, the 1-minute load average, stands in (under a cgroup quota, or without /proc).
    """
    others = load if busy is None else busy
    idle = math.floor(cores - others + 0.5)
    return min(cores, max(1, idle))


def load_disagrees(cores: int, load: float, busy: float) -> bool:
    """Whether the load average (less OWN_LOAD) would give fewer threads than the short sample
    ``busy``: then a longer sample decides."""
    return idle_threads(cores, max(load - OWN_LOAD, 0.0)) < idle_threads(cores, load, busy)


def choose_threads(cores: int, load: float, explicit: int | None,
                   busy: float | None = None) -> int:
    """Threads for OpenMP and BLAS: the user's setting (:func:`explicit_threads`), else
    :func:`idle_threads`."""
    return explicit if explicit is not None else idle_threads(cores, load, busy)


def limit_threads(env: Mapping[str, str] | None = None) -> int:
    """Limit this process's OpenMP and BLAS pools to :func:`choose_threads`; returns it."""
    from threadpoolctl import threadpool_limits

    env = os.environ if env is None else env
    quota = cgroup_cpu_limit()
    cores = usable_cores(quota=quota)
    explicit = explicit_threads(env)
    # Under a cgroup quota /proc/stat's cores are the host's, not this process's share.
    busy = busy_cores_now() if explicit is None and quota is None and cores > 1 else None
    load = os.getloadavg()[0]
    if busy is not None and load_disagrees(cores, load, busy):
        busy = busy_cores_now(CONFIRM_SAMPLE_SECONDS)
    threads = choose_threads(cores, load, explicit, busy)
    threadpool_limits(limits=threads)
    set_openmp_threads(threads)
    global _choices
    _choices += 1
    log.info("OpenMP/BLAS threads: %d (usable cores %d, load average %.2f, busy now %s)",
             threads, cores, load, "unknown" if busy is None else f"{busy:.2f}")
    return threads


def reapply_threads() -> int:
    """Apply this process's choice again, to libraries loaded since (a model's OpenMP), without
    measuring the load again; the first call in a process chooses (:func:`limit_threads`)."""
    if _openmp_threads is None:
        return limit_threads()
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=_openmp_threads)
    return _openmp_threads


def chosen_threads() -> int:
    """This process's thread choice (:func:`limit_threads`), or its usable cores before one is
    made."""
    return _openmp_threads or usable_cores(quota=cgroup_cpu_limit())


def choose_again_soon() -> None:
    """Make the choice again at the next fit or predict (:func:`openmp_threads`); safe from
    any thread. main's background step calls it when main's own step has ended."""
    _choose_again.set()


def _choose_again_if_asked() -> None:
    if not _choose_again.is_set():  # every fit and predict passes here: no lock unless asked
        return
    with _choosing:
        if _choose_again.is_set():
            _choose_again.clear()
            limit_threads()


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
    _choose_again_if_asked()
    threads = 1 if n_rows <= SMALL_BATCH_ROWS else _openmp_threads
    if threads is None:
        yield
        return
    with _openmp_controller().limit(limits=threads):
        yield


@contextlib.contextmanager
def fits_share_threads(parallel_fits: int) -> Iterator[None]:
    """Within the block, ``parallel_fits`` concurrent fits share this process's threads."""
    old, made = set_openmp_threads(max(1, chosen_threads() // max(1, parallel_fits))), _choices
    try:
        yield
    finally:
        if _choices == made:  # else the choice limit_threads made inside the block stands
            set_openmp_threads(old)
