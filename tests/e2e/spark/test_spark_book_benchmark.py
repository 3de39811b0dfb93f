"""benchmarks/spark_book.py, small: a partitioned book monitored on Spark in fresh driver
processes, against pandas on the same loans (issue 32's benchmark, at 20k and 60k loans)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.common import result_line, run_measured


@pytest.mark.heavy
def test_the_book_benchmark_monitors_two_sizes_and_compares_the_engines(spark):
    done = run_measured([sys.executable, "-m", "benchmarks.spark_book", "--sizes",
                         "20000,60000", "--chunk-rows", "20000", "--train-rows", "3000"])
    assert done.returncode == 0, done.stderr[-3000:]
    found = result_line(done.stdout)
    runs = [(r["rows"], r["engine"]) for r in found["runs"]]
    assert runs == [(20000, "spark"), (20000, "pandas"), (60000, "spark")]
    assert found["equal"]["metrics"] > 50 and found["equal"]["off"] == []
    assert found["equal"]["largest_relative_gap"] < 1e-9
    for run in found["runs"]:
        assert run["driver_peak_mib"] > 0 and run["status"] in ("green", "amber", "red"), run
        if run["engine"] == "spark":  # the JVM and the workers count in the tree, not the driver
            assert run["driver_peak_mib"] < run["tree_peak_mib"], run
    assert found["driver_ratio"] == pytest.approx(
        found["runs"][2]["driver_peak_mib"] / found["runs"][0]["driver_peak_mib"])
