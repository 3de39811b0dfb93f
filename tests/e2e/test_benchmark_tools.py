"""The benchmarks' measuring helpers measure what they claim (no timing assertions)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.common import markdown_table, result_line, run_measured
from pd_lib.modelling.screening import SCREEN_KEEP

ALLOCATE = ("import time; block = bytearray({mib} * 1024 * 1024); block[::4096] = b'x' * "
            "len(block[::4096]); time.sleep(0.5); print('RESULT {{\"ok\": 1}}')")


def test_peak_memory_of_a_process_and_of_its_tree():
    grandchild = ALLOCATE.format(mib=150)
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    done = run_measured([sys.executable, "-c", child])
    assert done.returncode == 0
    assert done.peak_process_mib >= 150  # the grandchild, reported through wait4
    assert done.peak_tree_mib >= 150  # sampled from /proc while it slept
    assert result_line(done.stdout) == {"ok": 1}


def test_cpu_seconds_and_processes_left_behind():
    spin = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.6: pass')"
    done = run_measured([sys.executable, "-c", spin])
    assert done.cpu >= 0.5 and done.leftover == []
    orphan = ("import subprocess, sys; subprocess.Popen([sys.executable, '-c', "
              "'import time; time.sleep(3)'])")
    done = run_measured([sys.executable, "-c", orphan])
    assert len(done.leftover) == 1  # the sleeper outlived its parent, in its process group


def test_a_failing_command_reports_its_exit_code():
    done = run_measured([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert done.returncode == 3


def test_markdown_table_shape():
    table = markdown_table(["a", "b"], [[1, 0.5], ["x", 1234.5]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | 0.5000 |", "| x | 1,234.5 |"]


# The benchmark scripts themselves, at tiny sizes: they import and call pd_lib as the steps do,
# so a change of a pd_lib signature must fail here, not in the next hour-long benchmark run.


def _benchmark(*args: str) -> dict:
    done = run_measured([sys.executable, "-m", *args])
    assert done.returncode == 0, done.stderr[-3000:]
    return result_line(done.stdout)


def test_tuning_benchmark_runs_each_search_on_the_same_grid():
    found = _benchmark("benchmarks.tuning", "--n-samples", "3000", "--grid",
                       "learning_rate=0.1,0.2;max_depth=2,3", "--methods", "screen,halving,grid")
    rows = {r["method"]: r for r in found["rows"]}
    assert set(rows) == {"screen", "halving", "grid"}
    assert rows["grid"]["fits"] == 4 * 3 + 1  # every candidate on every fold, and the refit
    # screening, the best SCREEN_KEEP on the first fold, the better one's other 2, the refit
    assert rows["screen"]["fits"] == 4 + SCREEN_KEEP + 2 + 1
    for row in rows.values():
        assert 0.5 < row["holdout_roc_auc"] <= 1.0
        assert set(row["best_params"]) == {"learning_rate", "max_depth"}


def test_screen_rounds_benchmark_compares_the_race_with_every_fold():
    found = _benchmark("benchmarks.screen_rounds", "--n-samples", "3000", "--seeds", "1-2",
                       "--sources", "make_classification")
    books = found["books"]
    assert [(b["source"], b["seed"]) for b in books] == [("make_classification", 1),
                                                         ("make_classification", 2)]
    for book in books:
        assert (book["fits_race"], book["fits_all_folds"]) == (SCREEN_KEEP + 2, SCREEN_KEEP * 3)
        assert book["same"] == (book["race_choice"] == book["all_folds_choice"])
        # the all-folds choice is the finalist with the higher mean over every fold
        race_wins = book["race_cv_roc_auc"] >= book["runner_up_cv_roc_auc"]
        assert book["same"] == race_wins
        assert ("holdout_roc_auc_race" in book) == (not book["same"])


def test_model_kinds_benchmark_reports_each_kind():
    found = _benchmark("benchmarks.model_kinds", "--n-samples", "3000", "--kinds",
                       "hist_gradient_boosting,logistic_regression")
    assert [r["kind"] for r in found["rows"]] == ["hist_gradient_boosting", "logistic_regression"]
    assert all(r["size_mib"] > 0 and 0.5 < r["roc_auc"] <= 1.0 for r in found["rows"])


def test_scoring_benchmark_compares_pyfunc_with_raw_scores():
    found = _benchmark("benchmarks.scoring", "--n-rows", "3000", "--train-rows", "2000",
                       "--repeat", "1", "--calls", "5")
    assert found["raw_rows_per_s"] > 0 and found["pyfunc_rows_per_s"] > 0
    assert found["one_row_pyfunc"]["p50_ms"] > 0


def test_scorecard_benchmark_times_fit_scoring_and_reasons():
    found = _benchmark("benchmarks.scorecard", "--fit-rows", "3000", "--score-rows", "6000",
                       "--reason-rows", "2000")
    assert found["scorecard_rows_per_s"] > 0 and found["characteristics"] > 0
    assert found["scorecard_reasons_s"] > 0 and found["hgb_reasons_s"] > 0


def test_core_benchmark_prints_a_plan_that_fits_every_core_count():
    done = run_measured([sys.executable, "-m", "benchmarks.cores", "--plan", "--sizes",
                         "1000000"])
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.strip("|").split("|") for line in done.stdout.splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert [int(r[0]) for r in rows] == [2, 4, 8, 16, 64, 96]
    for cores, train, tune, *phases in rows:
        assert int(train) + int(tune) == int(cores)
        for step, threads in zip((train, tune, tune), phases, strict=True):
            assert sum(int(t) for t in threads.split("+")) <= int(step)


def test_core_benchmark_measures_a_pair(monkeypatch):
    """One small pair: the script and main, their CPU seconds and main's leftovers."""
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)  # the benchmark makes stores of its own
    found = _benchmark("benchmarks.cores", "--sizes", "20000", "--pairs", "1")
    [pair] = found["sizes"]["20000"]
    assert pair["script"]["cpu"] > 0 and pair["main"]["cpu"] > 0
    assert pair["main"]["leftover"] == 0
    assert 0.5 < pair["main"]["roc_auc"] <= 1.0


def test_gate_power_benchmark_reports_every_rule_per_size_and_noise():
    found = _benchmark("benchmarks.gate_power", "--reps", "20", "--sizes", "1000,4000")
    rows = found["rows"]
    assert [(r["noise"], r["loans"]) for r in rows] == [
        (noise, n) for noise in (0.3, 0.6, 1.0) for n in (1000, 4000)]
    for row in rows:
        assert row["worse_noise"] > row["noise"]  # the worse challenger is noisier
        for rates in (row[rule][case] for rule in row if isinstance(row[rule], dict)
                      for case in ("equal", "worse")):
            assert sum(rates.values()) == pytest.approx(1.0)
    # the SE shrinks with the holdout: about 1/sqrt(n)
    assert rows[1]["median_se"] < rows[0]["median_se"] * 0.7
