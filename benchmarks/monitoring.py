"""Monitoring speed: the monitor step on a large later period, against scoring it alone.

    python -m benchmarks.monitoring --n-rows 1000000 [--train-rows 20000] [--scenario shift]

In a temporary SQLite store: a development book of ``--train-rows`` loans, a champion
(hist_gradient_boosting) trained, registered and promoted through the steps, and a period of
``--n-rows`` loans (``generate -P scenario=...``). Then, in this process, times
``monitor_and_log`` (lineage, scoring, every statistic, report, tags: what ``monitor`` does) and,
as the baseline measured in the same run, ``score_and_log`` on the same period (the score
step). Prints ``RESULT {json}`` with both times and their ratio. The issue's goal: under 60 s
for 1,000,000 loans.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rows", type=int, default=1_000_000)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--scenario", default="shift")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        import mlflow
        from click.testing import CliRunner

        from pd_lib.config import EXPERIMENT_NAME, LOANS_ARTIFACT
        from pd_lib.mlflow_layer.scoring.batch import score_and_log
        from pd_lib.mlflow_layer.scoring.monitoring import monitor_and_log
        from steps.generate import generate
        from steps.promote import promote
        from steps.register import register
        from steps.train import train

        runner = CliRunner()

        def run(command, *options) -> None:
            result = runner.invoke(command, [str(o) for o in options], catch_exceptions=False)
            if result.exit_code:
                raise SystemExit(result.output)

        def newest(entry_point: str) -> str:
            runs = mlflow.search_runs(experiment_names=[EXPERIMENT_NAME],
                                      filter_string=f"tags.`mlflow.project.entryPoint` = "
                                                    f"'{entry_point}'",
                                      order_by=["attributes.start_time DESC"])
            return runs["run_id"].iloc[0]

        run(generate, "--n-samples", args.train_rows, "--seed", 1)
        run(train, "--model", "hist_gradient_boosting")
        run(register, "--run-id", newest("train"))
        run(promote, "--stage", "Production")
        start = time.perf_counter()
        run(generate, "--n-samples", args.n_rows, "--seed", 1, "--scenario", args.scenario)
        generate_seconds = time.perf_counter() - start
        period = f"runs:/{newest('generate')}/{LOANS_ARTIFACT}"
        model_uri = "models:/pd_model_v1@champion"

        start = time.perf_counter()
        score_and_log(model_uri, period)
        score_seconds = time.perf_counter() - start
        start = time.perf_counter()
        found = monitor_and_log(model_uri, period)
        monitor_seconds = time.perf_counter() - start
        os.chdir("/")
    print("RESULT " + json.dumps({
        "rows": args.n_rows, "scenario": args.scenario, "status": found.result.status,
        "generate_seconds": round(generate_seconds, 1),
        "score_seconds": round(score_seconds, 1), "monitor_seconds": round(monitor_seconds, 1),
        "monitor_over_score": round(monitor_seconds / score_seconds, 2),
        "goal_seconds": 60, "met": monitor_seconds < 60}))


if __name__ == "__main__":
    main()
