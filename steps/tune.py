"""tune: search hyper-parameters with cross-validated ROC AUC; log the refit best model.

Each candidate is a nested child run (params, cv_roc_auc); the parent run logs the best
model and its evaluation exactly like train does.
"""

from __future__ import annotations

import click
import mlflow

from pd_lib import training, tuning
from pd_lib.config import DEFAULT_MODEL
from pd_lib.errors import exit_on_user_error
from pd_lib.tracking import log_params_once, setup_logging, step_run
from steps.options import split_options, tune_options


@click.command(help=__doc__ + "\n\nGrid syntax: " + tuning.GRID_SYNTAX)
@click.option("--data-uri", default="", help="runs:/<generate run id>/data/loans.parquet.")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Model kind to tune.")
@tune_options
@split_options
@click.option("--seed", type=int, default=42, show_default=True, help="Split, CV and model seed.")
@exit_on_user_error
def tune(data_uri: str, model: str, grid: str, cv: int, search: str, test_size: float,
         threshold: float, split: str, seed: int) -> None:
    setup_logging()
    parsed = tuning.parse_grid(grid, model)
    with step_run("tune") as run:
        log_params_once({"data_uri": data_uri, "model": model, "grid": grid, "cv": cv,
                         "search": search, "test_size": test_size, "threshold": threshold,
                         "split": split, "seed": seed})
        samples = training.prepare_data(data_uri, test_size, seed, split)
        searcher = tuning.run_search(model, parsed, samples.train, cv, search, seed)
        tuning.log_candidates(searcher, model)
        best = tuning.best_params(searcher, model)
        mlflow.log_params({f"best_{k}": v for k, v in best.items()})
        mlflow.log_metric("best_cv_roc_auc", float(searcher.best_score_))
        evaluation = training.evaluate_and_log(
            searcher.best_estimator_, samples, threshold, seed,
            {"model": model, **{f"best {k}": v for k, v in best.items()}, "split": split,
             "threshold": threshold})
        click.echo(f"tune run {run.info.run_id}: best {best}, holdout ROC AUC "
                   f"{evaluation.metrics['roc_auc']:.4f}")


if __name__ == "__main__":
    tune()
