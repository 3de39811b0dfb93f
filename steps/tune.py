"""tune: search hyper-parameters with cross-validated ROC AUC; log the refit best model.

Each candidate is a nested child run (params, cv_roc_auc); the parent run logs the best
model and its evaluation exactly like train does.
"""

from __future__ import annotations

import click

from pd_lib.config import GRID_SYNTAX
from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__ + "\n\nGrid syntax: " + GRID_SYNTAX)
@entry_point_options("tune")
@exit_on_user_error
def tune(**values) -> None:
    from pd_lib.mlflow_layer.building.evaluation_logging import evaluate_and_log
    from pd_lib.mlflow_layer.building.model_fit import log_fitted
    from pd_lib.mlflow_layer.building.training_data import prepare_data
    from pd_lib.mlflow_layer.building.tuning import log_search, refuse_invalid_parameters
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.run_params import log_params_once
    from pd_lib.mlflow_layer.step_runs import step_run
    from pd_lib.modelling.search import run_search
    from pd_lib.params import check_model_values

    setup_logging()
    grid = check_model_values(values)["grid"]  # values: checked by StepCommand
    model, seed = values["model"], values["seed"]
    with step_run("tune", f"tune-{values['search']}-{model}") as run:
        log_params_once(values)
        samples = prepare_data(values["data_uri"], values["test_size"], seed, values["split"])
        try:
            searcher = run_search(model, grid, samples.train,
                                  values["cv"], values["search"], seed, values["calibration"],
                                  values["monotone"])
        except (ValueError, TypeError) as exc:
            refuse_invalid_parameters(exc, values["grid"])
            raise
        best = log_search(searcher, model)
        fitted = log_fitted(searcher.best_estimator_, model, values["monotone"])
        evaluation = evaluate_and_log(
            fitted.model, samples, values["threshold"], seed,
            {"model": model, **{f"best {k}": v for k, v in best.items()},
             "split": values["split"], "threshold": values["threshold"]},
            fitted.report_html())
        click.echo(f"tune run {run.info.run_id}: best {best}, holdout ROC AUC "
                   f"{evaluation.metrics['roc_auc']:.4f}")


if __name__ == "__main__":
    tune()
