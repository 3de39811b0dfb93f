"""train: fit a PD model on data/loans.parquet of a generate run (by URI) and log it.

Logs params; holdout, train (train_*) and, with split=time, out-of-time (oot_*) metrics;
plots/*.png (ROC, confusion matrix, calibration, KS, PD distribution, grade table, feature
importance), tables/*.csv (grade table, feature importance, traffic lights),
report/validation_report.html, the model (with signature and input example),
data/holdout_scored.parquet and, with split=time, data/oot_scored.parquet.
"""

from __future__ import annotations

import click

from pd_lib import training
from pd_lib.errors import exit_on_user_error
from pd_lib.models import build_model, check_model_params
from pd_lib.tracking import log_params_once, setup_logging, step_run
from steps.options import model_options, split_options


@click.command(help=__doc__)
@click.option("--data-uri", default="", help="runs:/<generate run id>/data/loans.parquet; "
              "empty: the newest default generate run, else data generated here.")
@model_options
@split_options
@click.option("--seed", type=int, default=42, show_default=True, help="Split and model seed.")
@exit_on_user_error
def train(data_uri: str, model: str, n_estimators: int, max_depth: int, min_samples_leaf: int,
          test_size: float, threshold: float, split: str, seed: int) -> None:
    setup_logging()
    hyper = {"n_estimators": n_estimators, "max_depth": max_depth,
             "min_samples_leaf": min_samples_leaf}
    check_model_params(model, hyper)
    with step_run("train") as run:
        log_params_once({"data_uri": data_uri, "model": model, **hyper, "test_size": test_size,
                         "threshold": threshold, "split": split, "seed": seed})
        samples = training.prepare_data(data_uri, test_size, seed, split)
        fitted = training.fit(build_model(model, hyper, samples.train, seed=seed), samples.train)
        evaluation = training.evaluate_and_log(
            fitted, samples, threshold, seed,
            {"model": model, **hyper, "split": split, "threshold": threshold})
        click.echo(f"train run {run.info.run_id}: holdout ROC AUC "
                   f"{evaluation.metrics['roc_auc']:.4f}, accuracy "
                   f"{evaluation.metrics['accuracy']:.4f}")


if __name__ == "__main__":
    train()
