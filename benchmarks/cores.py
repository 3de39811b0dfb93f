"""The core plan at work: ``mlflow run .`` main against the tutorial's plain script, at 100k
and 1M rows of make_classification x 20 features, on the cores this machine gives.

Per size, pairs run in turn (script, then main), each a fresh process on a fresh SQLite
store: wall seconds, CPU seconds (user + system of the whole process tree), peak memory, and
the processes of main's process group still alive after it exited. Prints a table and one
``RESULT {json}`` line; ``--markdown FILE`` appends the table to FILE (benchmarks/RESULTS.md).

    python -m benchmarks.cores                        # 100k and 1M, 2 pairs each
    python -m benchmarks.cores --sizes 100000 --pairs 3
    taskset -c 0 python -m benchmarks.cores --sizes 100000   # one core

Targets (issue 26), against benchmarks/tutorial_baseline.py: on 2 cores main at 100k <= 1.5x
the script's wall and main at 1M <= 100 s; on 16 cores main at 1M <= 0.5x the script, at
100k <= 1.5x and <= 25 s, and main's CPU seconds <= 1.3x those on 2 cores for the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, markdown_table, result_line, run_measured
from benchmarks.run_all import _checked, _mlflow_run, _runs, _store
from pd_lib.cores import available_cores, split_share, usable_cores
from pd_lib.params import SPLIT

TEST_SIZE = SPLIT[0]  # test_size

N_FEATURES = 20


def _main_summary(env: dict) -> dict:
    """The core plan main logged, the step that was registered, its holdout AUC."""
    main_run = _runs(env, "main")[-1]
    best = next(r for e in ("train", "tune") for r in _runs(env, e)
                if r["run_id"] == main_run["params"]["best_run_id"])
    return {"plan": main_run["tags"].get("pd.core_plan", "(steps one after the other)"),
            "roc_auc": best["metrics"]["roc_auc"]}


def measure_pair(n_samples: int, index: int) -> dict:
    """The tutorial script, then main, on stores of their own."""
    env, _ = _store(f"cores_script_{n_samples}_{index}")
    script = _checked(run_measured([sys.executable, "benchmarks/tutorial_baseline.py",
                                    "--n-samples", str(n_samples), "--n-features",
                                    str(N_FEATURES)], env=env), "tutorial baseline")
    env, _ = _store(f"cores_main_{n_samples}_{index}")
    main = _mlflow_run(env, "main", {"source": "make_classification", "n_samples": n_samples,
                                     "n_features": N_FEATURES})
    return {
        "script": {"wall": script.wall, "cpu": script.cpu, "peak_tree_mib": script.peak_tree_mib,
                   "roc_auc": result_line(script.stdout)["holdout_roc_auc"]},
        "main": {"wall": main.wall, "cpu": main.cpu, "peak_tree_mib": main.peak_tree_mib,
                 "leftover": len(main.leftover), **_main_summary(env)},
    }


def report(result: dict) -> list[str]:
    """A markdown table of every pair, and each size's median ratios."""
    rows, medians = [], []
    for n, pairs in result["sizes"].items():
        for i, pair in enumerate(pairs, start=1):
            s, m = pair["script"], pair["main"]
            rows.append([f"{int(n):,}", i, s["wall"], s["cpu"], s["peak_tree_mib"], m["wall"],
                         m["cpu"], m["peak_tree_mib"], f"{m['wall'] / s['wall']:.2f}",
                         m["leftover"], m["plan"]])
        ratio = statistics.median(p["main"]["wall"] / p["script"]["wall"] for p in pairs)
        main_wall = statistics.median(p["main"]["wall"] for p in pairs)
        main_cpu = statistics.median(p["main"]["cpu"] for p in pairs)
        medians.append(f"{int(n):,} rows: main {main_wall:.1f} s wall, {main_cpu:.1f} CPU-s, "
                       f"{ratio:.2f}x the script (medians)")
    return [
        f"### Core plan: main against the tutorial script, make_classification x {N_FEATURES}, "
        f"{result['cores']} cores ({result['how']})",
        "",
        markdown_table(["rows", "pair", "script wall s", "script CPU s", "script peak MiB",
                        "main wall s", "main CPU s", "main peak MiB", "main / script",
                        "processes left", "core plan"], rows),
        "",
        *[f"- {line}" for line in medians],
        "",
        f"_Measured {result['measured_at']}, python -m benchmarks.cores._",
    ]


PLAN_CORES = (2, 4, 8, 16, 64, 96)
# Parallel fits of the default main's phases: model=auto's kinds on one split (above 20,000
# loans), tune's screening of the default grid's 6 candidates, and its cross-validation:
# the 2 finalists race on fold 1, then the winner's 2 other folds (2 fits at a time).
PHASES = {"train: model=auto's 4 kinds": ("train", 4), "tune: screening 6 candidates":
          ("tune", 6), "tune: 2 finalists on fold 1, then 2 folds": ("tune", 2)}


def plan_table(n_training_loans: int) -> list[str]:
    """The core plan's arithmetic for the default main (no machine needed): each step's
    share and the threads of each parallel fit in its phases, per core count."""
    from pd_lib.mlflow_layer.runner.pipeline import core_plan, grid_size
    from pd_lib.mlflow_layer.runner.runs import entry_point_defaults
    from pd_lib.modelling.search import parse_grid

    defaults = entry_point_defaults("main")
    train = {"model": defaults["model"]}
    tune = {"model": defaults["tune_model"], "grid": defaults["grid"], "cv": defaults["cv"],
            "search": defaults["search"]}
    rows = []
    for cores in PLAN_CORES:
        shares = core_plan(cores, n_training_loans, train, tune,
                           grid_size(parse_grid(tune["grid"], tune["model"])))
        rows.append([cores, shares["train"], shares["tune"], *[
            "+".join(str(t) for t in split_share(shares[step], width))
            for step, width in PHASES.values()]])
    return [markdown_table(["cores", "train", "tune", *PHASES], rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--markdown", default="", help="Append the table to this file.")
    parser.add_argument("--plan", action="store_true",
                        help="Print only the plan's arithmetic for 2-96 cores at the sizes.")
    args = parser.parse_args()
    if args.plan:
        for n in (int(x) for x in args.sizes.split(",")):
            training = int(n * (1 - TEST_SIZE.default))
            print(f"\n{n:,} loans ({training:,} training): cores of each step and threads of "
                  "each parallel fit\n")
            print("\n".join(plan_table(training)))
        return
    cores, how = available_cores()
    result: dict = {"cores": cores, "usable": usable_cores(), "how": how, "sizes": {},
                    "measured_at": time.strftime("%Y-%m-%d %H:%M"),
                    "load_average": list(os.getloadavg())}
    for n in (int(x) for x in args.sizes.split(",")):
        result["sizes"][str(n)] = []
        for i in range(args.pairs):
            pair = measure_pair(n, i)
            result["sizes"][str(n)].append(pair)
            print(f"{n:,} pair {i + 1}: script {pair['script']['wall']:.1f} s, main "
                  f"{pair['main']['wall']:.1f} s ({pair['main']['cpu']:.1f} CPU-s)", flush=True)
    lines = report(result)
    print("\n".join(lines))
    if args.markdown:
        with Path(ROOT / args.markdown if not Path(args.markdown).is_absolute()
                  else args.markdown).open("a") as handle:
            handle.write("\n" + "\n".join(lines) + "\n")
    print("RESULT " + json.dumps(result, default=str))


if __name__ == "__main__":
    main()
