"""The core plan of pd_lib.cores: the cores found, their division among concurrent steps and
parallel fits (never more threads than cores), the hand-off, and that results do not depend
on it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

import pd_lib.cores as cores
from pd_lib.cores import (
    SMALL_BATCH_ROWS,
    THREADS_ENV,
    available_cores,
    busy_cores_now,
    cgroup_cpu_limit,
    cpu_ticks,
    explicit_threads,
    fit_threads,
    grant,
    idle_threads,
    load_disagrees,
    parallel_fits,
    plan_shares,
    reapply,
    share,
    split_share,
    take_share,
    threads_per_fit,
    usable_cores,
)


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.3, 1), (2, 6.0, 1), (8, 3.2, 5), (1, 0.0, 1)],
)
def test_idle_usable_cores_are_used(cores, load, expected):
    assert idle_threads(cores, load) == expected


@pytest.mark.parametrize(
    ("load", "busy", "expected"),
    [(0.9, 0.05, 2),  # the load is this pipeline's own start: nothing else runs now
     (0.2, 1.0, 1),   # something started just now: the load average has not seen it yet
     (1.9, 0.0, 2),   # work that ended within the minute: the sample (confirmed) decides
     (1.4, 0.7, 1)],
)
def test_other_work_is_what_the_sample_sees_busy(load, busy, expected):
    assert idle_threads(2, load, busy) == expected


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


def test_settings_in_the_environment_are_read():
    assert explicit_threads({THREADS_ENV: "2"}) == 2
    assert explicit_threads({"OMP_NUM_THREADS": "1"}) == 1
    assert explicit_threads({THREADS_ENV: "3", "OMP_NUM_THREADS": "1"}) == 3
    assert explicit_threads({"OMP_NUM_THREADS": "4,2"}) == 4  # nested OpenMP syntax
    assert explicit_threads({}) is None


def test_a_bad_setting_is_ignored():
    assert explicit_threads({THREADS_ENV: "many"}) is None
    assert explicit_threads({THREADS_ENV: "0"}) == 1


def test_a_share_set_in_the_environment_is_taken_without_measuring(monkeypatch):
    def measured(*args, **kwargs):
        raise AssertionError("the load was measured")

    monkeypatch.setattr(cores, "busy_cores_now", measured)
    assert available_cores({THREADS_ENV: "3"}) == (3, "set in the environment")


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



CORE_COUNTS = (1, 2, 3, 4, 8, 16, 64, 96)
# Parallel fits of each kind a step runs: model=auto's kinds on one split (4) or in folds
# (6 x 5), calibration's folds and final fit (4, 6), a blend's members, screen's candidates
# and its cross-validation (2 x 3), a grid search (6 x 3, 27 x 3).
SEARCH_WIDTHS = (1, 2, 3, 4, 5, 6, 13, 18, 30, 81)


@pytest.fixture
def restore_share():
    """Tests here change the process's share: give the one before back."""
    before, granted = cores._share.cores, cores._share.granted
    yield
    cores._share.granted = granted
    cores._share.workers = 1
    if before is not None:
        take_share(before)
    else:
        cores._share.cores = None
        threadpool_limits(usable_cores())


def _in_use(share_: int, width: int) -> int:
    slots = split_share(share_, width)
    assert 1 <= len(slots) <= max(1, width) and min(slots) >= 1
    return sum(slots)


@pytest.mark.parametrize("n_cores", CORE_COUNTS)
def test_concurrent_steps_and_their_fits_never_claim_more_threads_than_cores(n_cores):
    works = [{"train": 1.0, "tune": 1.0}, {"train": 880_000, "tune": 4_090_000},
             {"train": 200_000, "tune": 64_000}, {"train": 0.0, "tune": 5.0},
             {"train": 0.0, "tune": 0.0}]
    for work in works:
        if n_cores < 2:  # one core: main runs its steps one after the other
            with pytest.raises(ValueError, match="need 2 cores"):
                plan_shares(n_cores, work)
            shares = {"train": n_cores, "tune": n_cores}
            for width in SEARCH_WIDTHS:
                assert _in_use(n_cores, width) <= n_cores
            continue
        shares = plan_shares(n_cores, work)
        assert sum(shares.values()) == n_cores and min(shares.values()) >= 1
        for train_width in SEARCH_WIDTHS:
            for tune_width in SEARCH_WIDTHS:
                both = _in_use(shares["train"], train_width) + _in_use(shares["tune"],
                                                                         tune_width)
                assert both <= n_cores, (shares, train_width, tune_width)
                # one ends and grants its cores: the other's block keeps its number of
                # fits, each slot grows, and the fits running then never add up to more
                for name, width in (("train", train_width), ("tune", tune_width)):
                    before = split_share(shares[name], width)
                    after = [n_cores // len(before) + (slot < n_cores % len(before))
                             for slot in range(len(before))]
                    assert all(a >= b for a, b in zip(after, before, strict=True))
                    assert sum(after) <= n_cores


def test_shares_follow_the_expected_work():
    assert plan_shares(16, {"train": 880_000, "tune": 4_090_000}) == {"train": 3, "tune": 13}
    assert plan_shares(16, {"train": 1.0, "tune": 1.0}) == {"train": 8, "tune": 8}
    assert plan_shares(2, {"train": 1.0, "tune": 100.0}) == {"train": 1, "tune": 1}
    assert plan_shares(3, {"train": 1.0, "tune": 0.0}) == {"train": 2, "tune": 1}
    # no estimate at all (the generate run logged no row count): equal shares of every core
    assert plan_shares(16, {"train": 0.0, "tune": 0.0}) == {"train": 8, "tune": 8}


def test_a_share_is_divided_among_parallel_fits():
    assert split_share(11, 6) == [2, 2, 2, 2, 2, 1]
    assert split_share(12, 6) == [2] * 6
    assert split_share(3, 6) == [1, 1, 1]
    assert split_share(8, 1) == [8]
    assert split_share(1, 30) == [1]


def test_inside_parallel_fits_each_fit_holds_a_slot_and_a_grant_reaches_the_next_fit(
        restore_share):
    from concurrent.futures import ThreadPoolExecutor

    take_share(11)
    with parallel_fits(6) as fits:
        assert fits == 6
        with ThreadPoolExecutor(6) as pool, fit_threads(SMALL_BATCH_ROWS + 1) as mine:
            barrier = threading.Barrier(5)

            def one_fit() -> int:
                with fit_threads(SMALL_BATCH_ROWS + 1) as threads:
                    barrier.wait(timeout=10)  # all six hold a slot at once
                    with fit_threads(SMALL_BATCH_ROWS + 1) as inner:  # a predict inside
                        assert inner == threads
                    return threads

            held = [mine, *pool.map(lambda _: one_fit(), range(5))]
        assert sorted(held) == [1, 2, 2, 2, 2, 2] and sum(held) == 11
        with parallel_fits(4) as nested:  # inside another block's fits: one at a time
            assert nested == 1
        grant(16)  # the step beside it has ended
        with fit_threads(SMALL_BATCH_ROWS + 1) as threads:
            assert share() == 16 and threads in (2, 3)  # 16 over the block's 6 slots
    assert threads_per_fit() == 16


def _openmp_threads_seen(n_rows: int, in_new_thread: bool) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    def inside() -> int:
        with fit_threads(n_rows):
            return _openmp_effective_n_threads()

    if not in_new_thread:
        return inside()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(inside).result()


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to tell 1 thread from the rest")
def test_the_count_reaches_threads_started_later(restore_share):
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    with ThreadPoolExecutor(1) as pool:  # OpenMP's own setting is per thread: not inherited
        threadpool_limits(1, user_api="openmp")
        assert pool.submit(_openmp_effective_n_threads).result() >= 2
    take_share(1)
    assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
    take_share(2)
    assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 2
    with parallel_fits(2):
        assert _openmp_threads_seen(SMALL_BATCH_ROWS + 1, in_new_thread=True) == 1
    # a small batch (a served row) runs on one thread whatever the process's share
    assert _openmp_threads_seen(1, in_new_thread=True) == 1
    assert _openmp_threads_seen(SMALL_BATCH_ROWS, in_new_thread=False) == 1


def test_blas_runs_one_thread_whatever_the_share(restore_share):
    from threadpoolctl import threadpool_info

    for share_ in (4, 1, 3):
        take_share(share_)
        with parallel_fits(2):
            assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} \
                <= {1}
        assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} <= {1}


def test_reapplying_keeps_the_share_without_measuring_again(monkeypatch, restore_share):
    from threadpoolctl import threadpool_info

    def measured(*args, **kwargs):
        raise AssertionError("the load was measured again")

    take_share(1)
    monkeypatch.setattr(cores, "busy_cores_now", measured)
    with threadpool_limits(limits=None):
        assert reapply() == 1
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    take_share(2)
    with threadpool_limits(limits=None):
        assert reapply() == 2
        assert {(p["user_api"], p["num_threads"]) for p in threadpool_info()} <= {
            ("openmp", 2), ("blas", 1)}


def test_boosting_results_do_not_depend_on_the_thread_count():
    X, y = make_classification(n_samples=3000, n_features=8, random_state=0)
    predictions = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="openmp"):
            model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
            predictions.append(model.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(predictions[0], predictions[1])


@pytest.mark.parametrize("model", ["hist_gradient_boosting", "random_forest", "auto"])
def test_pds_do_not_depend_on_the_share(model, restore_share):
    """The same PDs on one core and on four (parallel folds, kinds and trees)."""
    import pandas as pd

    from pd_lib.modelling.factory import build_model
    from pd_lib.modelling.selection import choose_kind, fit_chosen

    X, y = make_classification(n_samples=2500, n_features=6, weights=[0.85], random_state=3)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    params = {"calibration": "auto", "n_estimators": 20}
    pds = []
    for share_ in (1, 4):
        take_share(share_)
        if model == "auto":
            fitted = fit_chosen(choose_kind(X, y, params, seed=5), X, y, params, seed=5)
        else:
            fitted = build_model(model, params, X, seed=5).fit(X, y)
        pds.append(fitted.predict_pd(X))
    np.testing.assert_array_equal(pds[0], pds[1])


def test_main_gives_tune_the_larger_share_on_a_large_book():
    from pd_lib.mlflow_layer.runner.pipeline import core_plan

    train = {"model": "auto"}
    tune = {"model": "hist_gradient_boosting", "grid": "learning_rate=0.05,0.1,0.2;"
            "max_depth=3,None", "cv": 3, "search": "screen"}
    from pd_lib.modelling import search, selection

    work = {"train": selection.expected_rows_fitted(800_000, "auto"),
            "tune": search.expected_rows_fitted(800_000, 6, 3, "screen")}
    assert work["tune"] > work["train"]
    for n_cores in CORE_COUNTS[1:]:
        shares = core_plan(n_cores, 800_000, train, tune, candidates=6)
        assert sum(shares.values()) == n_cores and shares["tune"] >= shares["train"]
        # each share within one core of its part of the cores left after one each
        for name, share_ in shares.items():
            part = 1 + (n_cores - 2) * work[name] / sum(work.values())
            assert abs(share_ - part) < 1


def test_permutation_importance_does_not_depend_on_the_share(restore_share):
    import pandas as pd

    from pd_lib.modelling.factory import build_model
    from pd_lib.validation.importance import permutation_importance_table

    X, y = make_classification(n_samples=3000, n_features=6, random_state=3)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    model = build_model("hist_gradient_boosting", {"calibration": "none"}, X, seed=5).fit(X, y)
    tables = []
    for share_ in (1, 3):
        take_share(share_)
        tables.append(permutation_importance_table(model, X, y, seed=1))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_side_by_side_keeps_the_order_of_its_calls(restore_share):
    from pd_lib.cores import side_by_side

    take_share(3)
    seen = []

    def fit(i: int, j: int) -> tuple[int, int]:
        with fit_threads(SMALL_BATCH_ROWS + 1) as threads:  # as PDModel fits
            seen.append(threads)
        return i, j

    assert side_by_side(fit, [(i, i * i) for i in range(7)]) == [(i, i * i) for i in range(7)]
    assert set(seen) == {1}  # three fits at once on three cores: one thread each
