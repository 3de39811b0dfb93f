"""The thread-count choice of pd_lib.threads, and that results do not depend on it."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from pd_lib.threads import (
    SMALL_BATCH_ROWS,
    THREADS_ENV,
    busy_cores_now,
    cgroup_cpu_limit,
    choose_again_soon,
    choose_threads,
    chosen_threads,
    cpu_ticks,
    explicit_threads,
    fits_share_threads,
    load_disagrees,
    openmp_threads,
    reapply_threads,
    set_openmp_threads,
    usable_cores,
)


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.3, 1), (2, 6.0, 1), (8, 3.2, 5), (1, 0.0, 1)],
)
def test_idle_usable_cores_are_used(cores, load, expected):
    assert choose_threads(cores, load, explicit_threads({})) == expected


@pytest.mark.parametrize(
    ("load", "busy", "expected"),
    [(0.9, 0.05, 2),  # the load is this pipeline's own start: nothing else runs now
     (0.2, 1.0, 1),   # something started just now: the load average has not seen it yet
     (1.9, 0.0, 2),   # work that ended within the minute: the sample (confirmed) decides
     (1.4, 0.7, 1)],
)
def test_other_work_is_what_the_sample_sees_busy(load, busy, expected):
    assert choose_threads(2, load, explicit_threads({}), busy) == expected


@pytest.mark.parametrize(
    ("load", "busy", "disagree"),
    [(1.9, 0.0, True),   # the load says a core was busy lately, the short sample saw none
     (1.4, 0.0, False),  # load less our own process rounds to no other core either
     (0.3, 1.0, False),  # the sample sees more than the load: nothing to confirm
     (2.2, 1.0, False)],
)
def test_a_longer_sample_is_taken_only_when_the_load_average_disagrees(load, busy, disagree):
    assert load_disagrees(2, load, busy) is disagree


def test_busy_cores_are_read_from_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  30 0 10 160 0 0 0 0 0 0\n"
                    "cpu0 20 0 5 70 5 0 0 0 0 0\n"
                    "cpu1 10 0 5 90 0 0 0 0 0 0\n"
                    "intr 12345\n")
    assert cpu_ticks({0, 1}, stat) == (40, 205)  # idle and iowait are not busy
    assert cpu_ticks({1}, stat) == (15, 105)
    assert cpu_ticks({7}, stat) is None
    assert cpu_ticks({0}, tmp_path / "missing") is None


def test_a_busy_neighbour_is_seen_now():
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = busy_cores_now(0.3)
    finally:
        neighbour.kill()
    assert busy is not None and busy >= 0.7


def test_explicit_settings_win_over_the_load():
    assert choose_threads(2, 5.0, explicit_threads({THREADS_ENV: "2"})) == 2
    assert choose_threads(2, 0.0, explicit_threads({"OMP_NUM_THREADS": "1"})) == 1
    both = {THREADS_ENV: "3", "OMP_NUM_THREADS": "1"}
    assert choose_threads(2, 0.0, explicit_threads(both)) == 3
    nested = {"OMP_NUM_THREADS": "4,2"}  # nested OpenMP syntax
    assert choose_threads(2, 0.0, explicit_threads(nested)) == 4


def test_a_bad_setting_is_ignored():
    assert choose_threads(2, 0.0, explicit_threads({THREADS_ENV: "many"})) == 2
    assert choose_threads(2, 0.0, explicit_threads({THREADS_ENV: "0"})) == 1


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("250000\n")
    assert cgroup_cpu_limit(tmp_path) == 2.5


def test_no_cgroup_files_means_no_limit(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None


def test_quota_caps_affinity():
    assert usable_cores(affinity=8, quota=1.5) == 1
    assert usable_cores(affinity=2, quota=None) == 2
    assert usable_cores(affinity=2, quota=0.2) == 1
    assert usable_cores() >= 1


def test_boosting_results_do_not_depend_on_the_thread_count():
    X, y = make_classification(n_samples=3000, n_features=8, random_state=0)
    predictions = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="openmp"):
            model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
            predictions.append(model.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(predictions[0], predictions[1])


def _openmp_threads_seen(n_rows: int, in_new_thread: bool) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    def inside() -> int:
        with openmp_threads(n_rows):
            return _openmp_effective_n_threads()

    if not in_new_thread:
        return inside()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(inside).result()


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to tell 1 thread from the rest")
def test_the_chosen_count_reaches_threads_started_later():
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    with ThreadPoolExecutor(1) as pool:  # OpenMP's own setting is per thread: not inherited
        threadpool_limits(1, user_api="openmp")
        assert pool.submit(_openmp_effective_n_threads).result() >= 2
    old = set_openmp_threads(1)
    try:
        assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
        set_openmp_threads(2)
        assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 2
        # a small batch (a served row) runs on one thread whatever the process's count
        assert _openmp_threads_seen(1, in_new_thread=True) == 1
        assert _openmp_threads_seen(SMALL_BATCH_ROWS, in_new_thread=False) == 1
    finally:
        set_openmp_threads(old)
        threadpool_limits(usable_cores(), user_api="openmp")


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to share")
def test_parallel_fits_share_the_threads():
    old = set_openmp_threads(2)
    try:
        with fits_share_threads(2):
            assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
        with fits_share_threads(1):
            assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 2
        assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 2
    finally:
        set_openmp_threads(old)


def test_reapplying_keeps_the_step_choice_without_measuring_again(monkeypatch):
    from threadpoolctl import threadpool_info

    import pd_lib.threads as threads

    def measured(*args, **kwargs):
        raise AssertionError("the load was measured again")

    old = set_openmp_threads(1)
    monkeypatch.setattr(threads, "busy_cores_now", measured)
    try:
        with threadpool_limits(limits=None):
            assert reapply_threads() == 1
            assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    finally:
        set_openmp_threads(old)


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to tell 1 thread from the rest")
def test_a_step_asked_to_choose_again_does_so_at_its_next_fit_and_keeps_the_choice(
        monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "2")  # what the new choice finds, without measuring
    old = set_openmp_threads(1)
    try:
        with fits_share_threads(1):  # tune's search beside train: one thread a fit
            assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
            assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
            choose_again_soon()  # main's train has ended
            assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 2
        # the choice made inside the search outlives it: tune's refit and evaluation use it
        assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=False) == 2
        assert chosen_threads() == 2
    finally:
        set_openmp_threads(old)
        threadpool_limits(usable_cores())
