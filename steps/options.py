"""Click options shared by several steps; names match MLproject's parameters (kebab-case)."""

from __future__ import annotations

from collections.abc import Callable

import click

from pd_lib.config import (
    DEFAULT_GRID,
    DEFAULT_MODEL,
    DEFAULT_SEARCH,
    DEFAULT_THRESHOLD,
    MODEL_NAME,
    SEARCH_METHODS,
    SPLITS,
)


def _stack(*decorators: Callable) -> Callable:
    def apply(func: Callable) -> Callable:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


data_options = _stack(
    click.option("--source", default="synthetic", show_default=True,
                 help="synthetic (a loan book with a known true PD), make_classification (the "
                      "tutorial's data), or a path to a .csv/.parquet loan file."),
    click.option("--n-samples", type=int, default=10000, show_default=True,
                 help="Rows to generate (generators only)."),
    click.option("--n-features", type=int, default=10, show_default=True,
                 help="Features of the make_classification data (ignored otherwise)."),
    click.option("--default-rate", type=float, default=0.1, show_default=True,
                 help="Share of defaulters to generate, in (0, 1)."),
    click.option("--seed", type=int, default=42, show_default=True,
                 help="Seed of every random thing."),
    click.option("--target", default="default", show_default=True,
                 help="Label column of a user file; renamed to 'default'."),
    click.option("--id-col", default="", help="Id column of a user file (optional)."),
    click.option("--date-col", default="", help="Origination date column of a user file."),
    click.option("--label-map", default="",
                 help="Map a user file's labels to 0/1: value=1 for default, e.g. "
                      "'bad=1,good=0'."),
)

split_options = _stack(
    click.option("--test-size", type=float, default=0.2, show_default=True,
                 help="Share of rows held out for evaluation."),
    click.option("--threshold", type=float, default=DEFAULT_THRESHOLD, show_default=True,
                 help="PD at or above which a loan counts as predicted default."),
    click.option("--split", type=click.Choice(SPLITS), default="random", show_default=True,
                 help="random: stratified holdout; time: the latest origination_date vintages "
                      "(test_size of the loans) out of time, the rest split at random."),
)

model_options = _stack(
    click.option("--model", default=DEFAULT_MODEL, show_default=True,
                 help="hist_gradient_boosting, random_forest (the tutorial's) or "
                      "logistic_regression."),
    click.option("--n-estimators", type=int, default=100, show_default=True,
                 help="Trees (boosting iterations for hist_gradient_boosting)."),
    click.option("--max-depth", type=int, default=0, show_default=True,
                 help="Maximum tree depth; 0 means no limit."),
    click.option("--min-samples-leaf", type=int, default=0, show_default=True,
                 help="Minimum rows in a leaf; 0 means the model's default (random_forest 1, "
                      "hist_gradient_boosting 20)."),
)

tune_options = _stack(
    click.option("--grid", default=DEFAULT_GRID, show_default=True,
                 help="Search space: name=v1,v2;name=v1,v2 (None = no limit)."),
    click.option("--cv", type=int, default=3, show_default=True, help="Cross-validation folds."),
    click.option("--search", default=DEFAULT_SEARCH, show_default=True,
                 help=f"{', '.join(SEARCH_METHODS)}: screen every candidate on a sample "
                      "and cross-validate the best 2 (fast), scikit-learn's successive halving, "
                      "or GridSearchCV (the tutorial's)."),
)

promote_options = _stack(
    click.option("--model-name", default=MODEL_NAME, show_default=True,
                 help="Registered model name."),
    click.option("--stage", default="Production", show_default=True,
                 help="Staging, Production or Archived."),
    click.option("--force", type=bool, default=False, show_default=True,
                 help="Override a refusing champion gate (needs --reason)."),
    click.option("--reason", default="", help="Why the gate is overridden; recorded as a tag."),
)
