"""train: fit a PD model on data/loans.parquet of a generate run (by URI) and log it.

Logs params; holdout, train (train_*) and, with split=time, out-of-time (oot_*) metrics;
plots/*.png (ROC, confusion matrix, calibration, KS, PD distribution, grade table, feature
importance), tables/*.csv (grade table, feature importance, traffic lights),
report/validation_report.html, the model (with signature and input example),
data/holdout_scored.parquet and, with split=time, data/oot_scored.parquet.
"""

from __future__ import annotations

import click

from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("train")
@exit_on_user_error
def train(**values) -> None:
    from pd_lib import params
    from pd_lib.mlflow_layer.building.evaluation_logging import evaluate_and_log
    from pd_lib.mlflow_layer.building.model_fit import fit_model
    from pd_lib.mlflow_layer.building.training_data import prepare_data
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.step_runs import rename_run, step_run

    setup_logging()
    params.check_model_values(values)  # the values alone: checked by StepCommand
    model_params = params.pick(values, params.MODEL[1:])
    model, seed = values["model"], values["seed"]
    with step_run("train", f"train-{model}") as run:
        log_params_once(values)
        samples = prepare_data(values["data_uri"], values["test_size"], seed, values["split"])
        fitted = fit_model(model, model_params, samples.train, seed)
        if fitted.kind != model:
            rename_run(f"train-{model}-{fitted.kind}")
        evaluation = evaluate_and_log(
            fitted.model, samples, values["threshold"], seed,
            {"model": model if model == fitted.kind else f"{model}: {fitted.kind}",
             **model_params, "split": values["split"], "threshold": values["threshold"]},
            fitted.report_html())
        click.echo(f"train run {run.info.run_id}: holdout ROC AUC "
                   f"{evaluation.metrics['roc_auc']:.4f}, accuracy "
                   f"{evaluation.metrics['accuracy']:.4f}")


if __name__ == "__main__":
    train()
