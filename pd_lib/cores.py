"""The core plan: who may use which cores, so that no two pieces of work claim the same one.

Why: HistGradientBoosting (OpenMP) and OpenBLAS run thousands of short parallel regions per
fit, each ending at a barrier where waiting threads spin. When more threads want to run than
there are cores, a barrier waits for a descheduled thread and the spinning steals the core it
needs: on 2 shared cores a 100k-row fit took 5-36 s with two threads against 1.1-3 s with one,
and on a 16-core server main's train and tune each took 16 threads and train's 800k-row fit
printed nothing for 5 minutes. Claims that add up to the cores cost nothing of the kind.

The plan, made once by whoever starts concurrent work:

1. **The cores there are** (:func:`available_cores`): the usable cores (CPU affinity, cgroup
   quota), or the count a user set (``PD_NUM_THREADS``, else ``OMP_NUM_THREADS``). A process
   started alone on a shared box (a step run by hand, ``main``) also leaves out the cores other
   work keeps busy *now*: one 0.1 s sample of /proc/stat, and a 0.4 s one when the 1-minute
   load average says there is more other work than the short sample saw (a neighbour between
   two bursts). That sample is taken once per process that plans, never by a step ``main``
   started: ``main`` hands each its share.
2. **Shares by expected work** (:func:`plan_shares`): ``main`` divides its cores between the
   steps it runs at the same time (train and tune) in proportion to the rows each expects to
   fit, at least one core each, and hands each its share in ``PD_NUM_THREADS``; the plan is
   logged and tagged on main's run (``pd.core_plan``), each step's share on its own
   (``pd.threads``).
3. **Inside a step** (:func:`parallel_fits`): the share is divided among parallel fits
   (:func:`split_share`: 11 cores for 6 fits are 2, 2, 2, 2, 2 and 1 threads), so the threads
   of the fits running add up to the share, for OpenMP (per calling thread) and joblib (a
   forest's ``n_jobs``, :func:`threads_per_fit`). Fits run in joblib's threading backend:
   no worker start-up, no copies of the data. BLAS runs one thread in every fit: OpenBLAS's
   threaded kernels split their sums by the thread count, and a spline logistic
   regression's coefficients then differ by 1e-14 between 1 and 4 threads, so PDs would
   depend on the machine; the logistic regressions take their cores as parallel fits
   (model=auto's kinds and folds, calibration's folds) instead.
4. **Hand-off** (:func:`grant`): when one of two concurrent steps ends, ``main`` grants its
   cores to the other, which applies the larger share at its next fit or predict.

Results do not depend on the plan: every fit is seeded and shares no state with the fits
beside it; boosting's and the forest's results do not depend on their thread count, and BLAS
has one (tests check the PDs of every kind and of model=auto on 1 and 4 cores).

OpenMP's thread count is a per-thread setting: a limit set in the main thread does not reach
threads started later (joblib's workers, the request threads of ``mlflow models serve``).
So PDModel fits and predicts inside :func:`fit_threads`, which applies the count in the
calling thread, and one thread for a batch of at most SMALL_BATCH_ROWS rows, where waking a
team of threads costs more than it saves.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TypeVar

log = logging.getLogger("pd_pipeline")

T = TypeVar("T")

THREADS_ENV = "PD_NUM_THREADS"
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_STAT = Path("/proc/stat")
# Seconds of /proc/stat sampling: 10 clock ticks a core, 0.1-core resolution.
BUSY_SAMPLE_SECONDS = 0.1
# Seconds of the second, longer sample taken when the load average and the first disagree.
CONFIRM_SAMPLE_SECONDS = 0.4
# The load average's share that may be this pipeline's own recent work (one busy process).
OWN_LOAD = 1.0
SMALL_BATCH_ROWS = 1000


class _Share:
    """This process's cores (None: not planned, the usable cores); the parallel fits of the
    block running now (``fits``), which slots of it are free and which one each thread holds;
    and a larger share granted from another thread, applied at the next fit or predict."""

    def __init__(self) -> None:
        self.cores: int | None = None
        self.fits = 1
        self.free: list[int] = []
        self.held = threading.local()
        self.granted: int | None = None
        self.lock = threading.Lock()


_share = _Share()


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
    """The core count set in the environment (``PD_NUM_THREADS``: a user's cap or main's
    share; else a user's ``OMP_NUM_THREADS``), >= 1, or None; a value that is not an integer
    is ignored with a warning."""
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
    """Whether the load average (less OWN_LOAD) would give fewer cores than the short sample
    ``busy``: then a longer sample decides."""
    return idle_threads(cores, max(load - OWN_LOAD, 0.0)) < idle_threads(cores, load, busy)


def available_cores(env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """The cores this process's work may use, and how they were found: the count set in the
    environment (:func:`explicit_threads`), else the usable cores that other work leaves idle
    now (the shared-box sample above)."""
    env = os.environ if env is None else env
    explicit = explicit_threads(env)
    if explicit is not None:
        return explicit, "set in the environment"
    quota = cgroup_cpu_limit()
    cores = usable_cores(quota=quota)
    load = os.getloadavg()[0]
    # Under a cgroup quota /proc/stat's cores are the host's, not this process's share.
    busy = busy_cores_now() if quota is None and cores > 1 else None
    if busy is not None and load_disagrees(cores, load, busy):
        busy = busy_cores_now(CONFIRM_SAMPLE_SECONDS)
    idle = idle_threads(cores, load, busy)
    return idle, (f"usable cores {cores}, load average {load:.2f}, busy now "
                  f"{'unknown' if busy is None else f'{busy:.2f}'}")


def plan_shares(cores: int, work: Mapping[str, float]) -> dict[str, int]:
    """Divide ``cores`` among concurrent pieces of work in proportion to their expected
    ``work``, at least one core each; the shares add up to ``cores`` (largest remainders get
    the cores left over). Needs at least one core per piece."""
    if cores < len(work):
        raise ValueError(f"{len(work)} concurrent pieces of work need {len(work)} cores; "
                         f"got {cores}.")
    weights = {name: max(w, 0.0) for name, w in work.items()}
    if not any(weights.values()):  # no estimate (a book of unknown size): equal shares
        weights = dict.fromkeys(work, 1.0)
    spare = cores - len(work)  # one core each first, the rest by work
    exact = {name: spare * w / sum(weights.values()) for name, w in weights.items()}
    shares = {name: 1 + math.floor(x) for name, x in exact.items()}
    left = cores - sum(shares.values())
    for name in sorted(exact, key=lambda n: exact[n] - math.floor(exact[n]), reverse=True)[:left]:
        shares[name] += 1
    return shares


def split_share(share: int, tasks: int) -> list[int]:
    """Threads of each of the parallel fits that run ``tasks`` independent fits on ``share``
    cores: as many fits at once as there are cores for (one per list entry), the share
    divided among them as evenly as whole threads allow, so they add up to the share."""
    fits = max(1, min(share, tasks))
    return [share // fits + (1 if slot < share % fits else 0) for slot in range(fits)]


def share() -> int:
    """This process's cores: its planned share, or the usable cores before one is taken."""
    return _share.cores or usable_cores(quota=cgroup_cpu_limit())


def threads_per_fit() -> int:
    """Threads the fit running in this thread may use: its slot's part of the share inside
    :func:`parallel_fits`, else the whole share."""
    slot = getattr(_share.held, "slot", None)
    if _share.fits == 1 or slot is None:
        return share()
    return split_share(share(), _share.fits)[slot]


def take_share(cores: int) -> int:
    """Make ``cores`` this process's share: OpenMP's pools limited to it, BLAS to one thread
    (libraries loaded later: :func:`reapply`); returns it."""
    _share.cores = max(1, int(cores))
    _apply_limits()
    return _share.cores


def take_step_share(env: Mapping[str, str] | None = None) -> int:
    """A step's share: the one main handed it (or the user set), else the idle usable cores;
    logged. Returns it."""
    cores, how = available_cores(env)
    take_share(cores)
    log.info("cores for this step: %d (%s)", cores, how)
    return cores


def reapply() -> int:
    """Apply this process's share again, to libraries loaded since (a model's OpenMP), without
    measuring anything; the first call in a process takes the step's share."""
    if _share.cores is None:
        return take_step_share()
    _apply_limits()
    return _share.cores


def hand_down(cores: int) -> None:
    """Make ``cores`` the count every step this process starts from now on gets
    (``PD_NUM_THREADS``: in this process, a forked one or an ``mlflow run`` subprocess)."""
    os.environ[THREADS_ENV] = str(max(1, int(cores)))


@contextlib.contextmanager
def handed_down(cores: int) -> Iterator[None]:
    """:func:`hand_down` ``cores`` within the block, the count before it after."""
    before = os.environ.get(THREADS_ENV)
    hand_down(cores)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(THREADS_ENV, None)
        else:
            os.environ[THREADS_ENV] = before


def grant(cores: int) -> None:
    """Give this process ``cores`` (the share of a step beside it that has ended) from any
    thread; applied at the next fit or predict (:func:`fit_threads`)."""
    with _share.lock:
        _share.granted = max(1, int(cores))


def _take_granted() -> None:
    if _share.granted is None:  # every fit and predict passes here: no lock unless granted
        return
    with _share.lock:
        cores, _share.granted = _share.granted, None
    if cores is not None and cores != _share.cores:
        take_share(cores)
        log.info("cores for this step: %d (granted by main: the step beside it has ended)",
                 cores)


def _apply_limits() -> None:
    """OpenMP's default to the share (each fit sets its own thread's count,
    :func:`fit_threads`); BLAS (process-wide) to one thread (see above)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=share(), user_api="openmp")
    threadpool_limits(limits=1, user_api="blas")


@cache
def _openmp_controller():  # scanning the loaded libraries takes ~ms: once per process
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="openmp")


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    """Within :func:`parallel_fits`, hold one of its slots while this thread fits (the one it
    already holds, when a fit predicts inside)."""
    if _share.fits == 1 or getattr(_share.held, "slot", None) is not None:
        yield
        return
    with _share.lock:
        _share.held.slot = _share.free.pop()
    try:
        yield
    finally:
        with _share.lock:
            _share.free.append(_share.held.slot)
        _share.held.slot = None


@contextlib.contextmanager
def fit_threads(n_rows: int) -> Iterator[int]:
    """Run one fit or predict of ``n_rows`` rows with its threads (:func:`threads_per_fit`,
    one for a small batch) set in the calling thread; yields the count."""
    _take_granted()
    with _slot():
        threads = 1 if n_rows <= SMALL_BATCH_ROWS else threads_per_fit()
        with _openmp_controller().limit(limits=threads):
            yield threads


@contextlib.contextmanager
def parallel_fits(tasks: int) -> Iterator[int]:
    """Within the block, run ``tasks`` independent fits as the yielded number of parallel
    fits (joblib's threading backend), each holding a slot with its part of the share
    (:func:`split_share`). A block inside another one's fits yields 1: its fits run one
    after the other, within the slot of the fit that started them."""
    import joblib

    _take_granted()
    if _share.fits > 1:
        yield 1
        return
    fits = len(split_share(share(), tasks))
    _share.fits, _share.free = fits, list(range(fits))
    try:
        with joblib.parallel_config(backend="threading"):
            yield fits
    finally:
        _share.fits, _share.free = 1, []


def side_by_side(func: Callable[..., T], calls: Sequence[tuple]) -> list[T]:
    """``func(*args)`` for each ``args`` of ``calls``, in order, as fits side by side on this
    process's cores (:func:`parallel_fits`: one after the other on one core)."""
    from joblib import Parallel, delayed

    with parallel_fits(len(calls)) as fits:
        return Parallel(n_jobs=fits)(delayed(func)(*args) for args in calls)
