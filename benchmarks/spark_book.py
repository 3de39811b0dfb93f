"""The whole book on Spark: monitor a partitioned Parquet book of 1M and 10M loans with
``engine=spark`` (local[2]) against pandas, wall time and the driver's peak memory.

    python -m benchmarks.spark_book                          # 1M and 10M loans
    python -m benchmarks.spark_book --sizes 200000,2000000   # a quicker pair

In a temporary SQLite store: a champion (hist_gradient_boosting on ``--train-rows`` synthetic
loans) trained, registered and promoted through the steps. Each book is a later period of the
synthetic book (``scenario`` shift), written in chunks of ``--chunk-rows`` loans as a Parquet
data set partitioned by origination month (``month=2024-01/...``, as a lake holds it), never
whole in memory. Each monitor runs in a fresh process (``--child``) that reports its own peak
RSS (VmHWM): that is the driver, where the statistics run; beside it, the sampled peak of all
its processes together (the driver, Spark's JVM, which holds driver and executors on
local[2], and the Python workers). pandas monitors
the smallest book (read whole, as one file), and its metrics are compared with Spark's on the
same loans.

Targets (issue 32): the driver's peak memory flat in the book size (the largest book within
1.2x of the smallest), monitor of 10M loans on local[2] under 5 minutes, and pandas and Spark
numbers equal on 1M (relative 1e-9; the AUC from both is the same 65,536-bin histogram).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, markdown_table, result_line, run_measured

SEED = 7
DEFAULT_RATE = 0.05
SCENARIO = "shift"
TARGET_SECONDS = 300
TARGET_DRIVER_RATIO = 1.2
TOLERANCE = 1e-9


def write_book(folder: Path, n_rows: int, chunk_rows: int) -> float:
    """A synthetic later period of ``n_rows`` loans written chunk by chunk as Parquet,
    partitioned by origination month; returns the seconds it took."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pd_lib.config import DATE_COL, ID_COL
    from pd_lib.data.schema import integer_features_as_float
    from pd_lib.data.synthetic import synthetic_period

    started = time.perf_counter()
    for index, first in enumerate(range(0, n_rows, chunk_rows)):
        size = min(chunk_rows, n_rows - first)
        chunk = integer_features_as_float(
            synthetic_period(size, DEFAULT_RATE, SEED * 1000 + index, SCENARIO))
        chunk[ID_COL] = range(first, first + size)
        chunk["month"] = chunk[DATE_COL].dt.strftime("%Y-%m")
        pq.write_to_dataset(pa.Table.from_pandas(chunk, preserve_index=False), folder,
                            partition_cols=["month"],
                            basename_template=f"chunk-{index:05d}-{{i}}.parquet")
        del chunk
    return time.perf_counter() - started


def make_champion() -> None:
    """generate, train (hist_gradient_boosting), register, promote in the current store."""
    import mlflow
    from click.testing import CliRunner

    from pd_lib.config import EXPERIMENT_NAME
    from steps.generate import generate
    from steps.promote import promote
    from steps.register import register
    from steps.train import train

    runner = CliRunner()

    def run(command, *options) -> None:
        result = runner.invoke(command, [str(o) for o in options], catch_exceptions=False)
        if result.exit_code:
            raise SystemExit(result.output)

    run(generate, "--n-samples", ARGS.train_rows, "--seed", SEED, "--default-rate",
        DEFAULT_RATE)
    run(train, "--model", "hist_gradient_boosting")
    train_run = mlflow.search_runs(experiment_names=[EXPERIMENT_NAME],
                                   filter_string="tags.`mlflow.project.entryPoint` = 'train'")
    run(register, "--run-id", train_run["run_id"].iloc[0])
    run(promote, "--stage", "Production")


def peak_rss_of_this_process_mib() -> float:
    """This process's peak resident memory since it started (VmHWM). Not ru_maxrss: on Linux
    that keeps the high-water mark of the memory forked from the parent before exec, so a
    child of a large parent reports the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(data: str, engine: str) -> None:
    """Monitor ``data`` in this process: print its seconds, peak RSS and metrics."""
    from mlflow.tracking import MlflowClient

    from pd_lib.mlflow_layer.scoring.monitoring import monitor_and_log

    started = time.perf_counter()
    found = monitor_and_log("models:/pd_model_v1@champion", data, engine)
    seconds = time.perf_counter() - started
    metrics = MlflowClient().get_run(found.run_id).data.metrics
    print("RESULT " + json.dumps({
        "seconds": seconds, "status": found.result.status,
        "driver_peak_mib": peak_rss_of_this_process_mib(),
        "metrics": metrics}))


def monitor(data: Path, engine: str, env: dict) -> dict:
    """One monitor in a fresh process, measured."""
    done = run_measured([sys.executable, "-m", "benchmarks.spark_book", "--child", str(data),
                         "--engine", engine], env={**env, "PYTHONPATH": str(ROOT)},
                        cwd=Path(env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")).parent)
    if done.returncode:
        raise SystemExit(f"monitor {engine} on {data} failed:\n{done.stderr[-3000:]}")
    found = result_line(done.stdout)
    return {**found, "wall": done.wall, "tree_peak_mib": done.peak_tree_mib}


def largest_gap(found: dict, expected: dict) -> tuple[float, list[str]]:
    """The largest relative difference over metrics, and the metrics off by > TOLERANCE."""
    import math

    gaps, off = [], []
    for name, value in expected.items():
        other = found.get(name, float("nan"))
        if math.isnan(value) and math.isnan(other):
            continue
        gap = abs(other - value) / max(abs(value), 1e-12)
        gaps.append(gap)
        if gap > TOLERANCE and abs(other - value) > 1e-12:
            off.append(name)
    return max(gaps, default=0.0), off


def main() -> None:
    sizes = [int(s) for s in ARGS.sizes.split(",")]
    rows, result = [], {"sizes": sizes, "chunk_rows": ARGS.chunk_rows, "runs": []}
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(name, None)  # a run or experiment of another store: this one is new
    with tempfile.TemporaryDirectory(prefix="pd-spark-book-") as tmp:
        env = {"MLFLOW_TRACKING_URI": f"sqlite:///{Path(tmp) / 'mlflow.db'}"}
        os.environ.update(env)
        os.chdir(tmp)  # the store's artifacts land beside it, not in the repository
        make_champion()
        for n in sizes:
            folder = Path(tmp) / f"book_{n}"
            written = write_book(folder, n, ARGS.chunk_rows)
            print(f"{n:,} loans written in {written:.1f} s", flush=True)
            found = monitor(folder, "spark", env)
            result["runs"].append({"rows": n, "engine": "spark", "write_seconds": written,
                                   **{k: v for k, v in found.items() if k != "metrics"}})
            rows.append([f"{n:,}", "spark (local[2])", found["wall"], found["seconds"],
                         found["driver_peak_mib"], found["tree_peak_mib"],
                         found["status"]])
            print(rows[-1], flush=True)
            if n == sizes[0]:
                whole = Path(tmp) / "book_whole.parquet"
                import pandas as pd

                pd.read_parquet(folder).drop(columns=["month"]).to_parquet(whole, index=False)
                on_pandas = monitor(whole, "pandas", env)
                gap, off = largest_gap(found["metrics"], on_pandas["metrics"])
                result["equal"] = {"rows": n, "metrics": len(on_pandas["metrics"]),
                                   "largest_relative_gap": gap, "off": off}
                result["runs"].append({"rows": n, "engine": "pandas", **{
                    k: v for k, v in on_pandas.items() if k != "metrics"}})
                rows.append([f"{n:,}", "pandas", on_pandas["wall"], on_pandas["seconds"],
                             on_pandas["driver_peak_mib"], on_pandas["tree_peak_mib"],
                             on_pandas["status"]])
                print(rows[-1], flush=True)
            import shutil

            shutil.rmtree(folder)
        os.chdir(ROOT)
    spark_runs = [r for r in result["runs"] if r["engine"] == "spark"]
    ratio = spark_runs[-1]["driver_peak_mib"] / spark_runs[0]["driver_peak_mib"]
    result.update({"driver_ratio": ratio, "largest_seconds": spark_runs[-1]["seconds"],
                   "met": {"driver_flat": ratio <= TARGET_DRIVER_RATIO,
                           "under_5_minutes": spark_runs[-1]["wall"] < TARGET_SECONDS,
                           "equal": not result["equal"]["off"]}})
    print(markdown_table(["loans", "engine", "process wall s", "monitor s", "driver peak MiB",
                          "all processes MiB", "status"], rows))
    print(f"- driver peak, {sizes[-1]:,} vs {sizes[0]:,} loans: {ratio:.2f}x "
          f"(target <= {TARGET_DRIVER_RATIO}x)")
    equal = result["equal"]
    print(f"- pandas vs Spark on {equal['rows']:,} loans: {equal['metrics']} metrics, largest "
          f"relative gap {equal['largest_relative_gap']:.1e}, off by more than {TOLERANCE}: "
          f"{equal['off'] or 'none'}")
    print("RESULT " + json.dumps(result))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="spark", help=argparse.SUPPRESS)
    return parser.parse_args()


ARGS = argparse.Namespace()

if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.child:
        child(ARGS.child, ARGS.engine)
    else:
        main()
