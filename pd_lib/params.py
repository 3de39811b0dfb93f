"""The entry points' parameters, declared once: name, type, default, help, and their checks.

``steps/`` builds its click options from these groups, ``main`` splits its parameters into
the steps' by them and matches finished runs by their defaults, and MLproject (with its
Kubernetes copy) is written from them by ``python -m pd_lib.mlproject --write``
(:mod:`pd_lib.mlproject`; a test fails while a committed MLproject is not what it writes).
:func:`check_params` checks every value a step was given before it does anything, so a bad
value fails at the boundary (``main`` checks all of them before its first step runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pd_lib.checks import (
    check_env_manager,
    check_force,
    check_generated_size,
    check_model_name,
    check_points_scale,
    check_reasons,
    check_search,
    check_seed,
    check_split,
    check_stage,
    check_target,
    check_test_size,
    check_threshold,
)
from pd_lib.config import (
    CALIBRATION_METHODS,
    DEFAULT_GRID,
    DEFAULT_MODEL,
    DEFAULT_SEARCH,
    DEFAULT_THRESHOLD,
    DEFAULT_TUNE_MODEL,
    MODEL_NAME,
    SCENARIOS,
    SEARCH_METHODS,
    SPLITS,
)


@dataclass(frozen=True)
class Param:
    """One parameter: its name (snake_case everywhere; ``--kebab-case`` on the command line),
    Python type, default and help text. ``choices`` limits a string to a few values."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    required: bool = False


DATA = (
    Param("source", str, "synthetic",
          "synthetic (a loan book with a known true PD), make_classification (the tutorial's "
          "data), or a path to a .csv/.parquet loan file."),
    Param("n_samples", int, 10000,
          "Rows to generate (generators), or the size of the stratified training sample of a "
          "Parquet data set read with engine=spark."),
    Param("n_features", int, 10, "Features of the make_classification data (ignored otherwise)."),
    Param("default_rate", float, 0.1, "Share of defaulters to generate, in (0, 1)."),
    Param("seed", int, 42, "Seed of every random thing."),
    Param("target", str, "default", "Label column of a user file; renamed to 'default'."),
    Param("id_col", str, "", "Id column of a user file (optional)."),
    Param("date_col", str, "", "Origination date column of a user file."),
    Param("label_map", str, "",
          "Map a user file's labels to 0/1: value=1 for default, e.g. 'bad=1,good=0'."),
)

SCENARIO = Param(
    "scenario", str, "development",
    "development: the synthetic book itself; baseline, downturn or shift: a later period "
    "(12 months after the development window, known true PD) from the same process, under a "
    "macro shock (PDs x1.8), or with a drifted population (source=synthetic only).",
    choices=SCENARIOS)

DATA_URI = Param("data_uri", str, "",
                 "runs:/<generate run id>/data/loans.parquet; empty: the newest default "
                 "generate run, else data generated here.")
SEED = Param("seed", int, 42, "Seed of the split, the folds and the model.")

CALIBRATION = Param(
    "calibration", str, "auto",
    "auto: a calibration stage (sigmoid or isotonic, fitted on out-of-fold PDs) where it "
    "lowers the cross-validated log loss; none, sigmoid or isotonic to choose yourself.",
    choices=CALIBRATION_METHODS)
MONOTONE = Param("monotone", str, "",
                 "Monotone effects, e.g. 'debt_to_income=+1;annual_income=-1' (+1: PD rises "
                 "with the feature): enforced by hist_gradient_boosting, reported otherwise.")
MODEL = (
    Param("model", str, DEFAULT_MODEL,
          "auto (cross-validate the kinds by log loss, keep the best; up to 20,000 loans "
          "also the scorecard and the blend of all kinds), "
          "hist_gradient_boosting, random_forest (the tutorial's), logistic_regression, "
          "spline_logistic_regression (additive, a spline per numeric feature) or scorecard "
          "(binned characteristics, WoE, points)."),
    Param("n_estimators", int, 0,
          "Trees, or for hist_gradient_boosting the most boosting iterations (early stopping "
          "on the log loss usually ends sooner); 0 means the kind's default."),
    Param("max_depth", int, 0, "Maximum tree depth; 0 means the kind's default."),
    Param("min_samples_leaf", int, 0,
          "Minimum rows in a leaf; 0 means the kind's default, which grows with the data."),
    CALIBRATION,
    MONOTONE,
    Param("pdo", float, 20.0, "model=scorecard: points to double the good:bad odds."),
    Param("base_points", float, 600.0, "model=scorecard: the score at base_odds."),
    Param("base_odds", float, 50.0, "model=scorecard: the good:bad odds scoring base_points."),
)
HYPER = MODEL[1:4]

SPLIT = (
    Param("test_size", float, 0.2, "Share of rows held out for evaluation."),
    Param("threshold", float, DEFAULT_THRESHOLD,
          "PD at or above which a loan counts as predicted default."),
    Param("split", str, "random",
          "random: stratified holdout; time: the latest origination_date vintages (test_size "
          "of the loans) out of time, the rest split at random.", choices=SPLITS),
)

TUNE_MODEL = Param("tune_model", str, DEFAULT_TUNE_MODEL, "Model kind the tune step searches.")
TUNE_KIND = Param("model", str, DEFAULT_TUNE_MODEL,
                  "Model kind to tune: hist_gradient_boosting, random_forest, "
                  "logistic_regression or spline_logistic_regression.")
TUNE = (
    Param("grid", str, DEFAULT_GRID, "Search space: name=v1,v2;name=v1,v2 (None = no limit)."),
    Param("cv", int, 3, "Cross-validation folds."),
    Param("search", str, DEFAULT_SEARCH,
          f"{', '.join(SEARCH_METHODS)}: screen every candidate on a sample and cross-validate "
          "the best 2 (fast), scikit-learn's successive halving, or GridSearchCV (the "
          "tutorial's)."),
)

MODEL_NAME_PARAM = Param("model_name", str, MODEL_NAME, "Registered model name.")
PROMOTE = (
    MODEL_NAME_PARAM,
    Param("stage", str, "Production", "Staging, Production or Archived."),
    Param("force", bool, False, "Override a refusing champion gate (needs --reason)."),
    Param("reason", str, "", "Why the gate is overridden; recorded as a tag."),
)
ENV_MANAGER = Param("env_manager", str, "",
                    "local, virtualenv, uv or conda for the steps; empty: main's own.")

RUN_ID = Param("run_id", str, None, "Id (or runs:/ URI) of a train or tune run.", required=True)
VERSION = Param("version", str, "", "Version number; empty: the newest.")
SCORE = (
    Param("model_uri", str, f"models:/{MODEL_NAME}@champion",
          "models:/name@alias, models:/name/Production, models:/name/3 or runs:/id/model."),
    Param("data_uri", str, "", "runs:/<run id>/data/loans.parquet, or a .parquet/.csv path."),
    Param("engine", str, "pandas", "pandas or spark."),
    Param("spark_master", str, "local[2]",
          "Spark master for engine=spark: local[n], spark://host:7077, yarn, k8s://..."),
    Param("output_path", str, "",
          "engine=spark: write the scores here (hdfs://, s3a://, a directory) instead of "
          "logging data/scored.parquet; required on a cluster."),
    Param("reasons", int, 0,
          "Add reason_1..reason_n: the characteristics that raise each loan's PD most (for a "
          "scorecard also its points, column score); 0: none."),
)

# engine and spark_master: generate reads a Parquet data set with Spark, score and monitor
# score with it.
LAKE = SCORE[2:4]

MONITOR = (
    SCORE[0],
    Param("data_uri", str, "",
          "The later period: runs:/<run id>/data/loans.parquet or a .parquet/.csv path; "
          "without a 'default' column only stability is judged."),
    *LAKE,
    Param("fail_on", str, "never",
          "never: exit 0 whatever the status (printed and logged); red (or amber): exit 3 "
          "when the status is red (amber or red), for cron or CI.",
          choices=("never", "amber", "red")),
)

REPRODUCE = (
    MODEL_NAME_PARAM,
    Param("version", str, "champion",
          "The version to rebuild: a number, or an alias (champion, challenger)."),
)

# Every entry point's parameters, in MLproject's order.
ENTRY_POINTS: dict[str, tuple[Param, ...]] = {
    "generate": (*DATA, SCENARIO, *LAKE),
    "train": (DATA_URI, *MODEL, SPLIT[0], SEED, *SPLIT[1:]),
    "tune": (DATA_URI, TUNE_KIND, *TUNE, CALIBRATION, MONOTONE, SPLIT[0], SEED, *SPLIT[1:]),
    "register": (RUN_ID, MODEL_NAME_PARAM),
    "promote": (MODEL_NAME_PARAM, VERSION, *PROMOTE[1:]),
    "score": SCORE,
    "monitor": MONITOR,
    "reproduce": REPRODUCE,
    "main": (*DATA, *LAKE, *MODEL, *SPLIT, TUNE_MODEL, *TUNE, *PROMOTE, ENV_MANAGER),
}


def names(group: tuple[Param, ...]) -> tuple[str, ...]:
    """The parameter names of a group."""
    return tuple(p.name for p in group)


def pick(values: Mapping[str, Any], group: tuple[Param, ...]) -> dict[str, Any]:
    """The values of ``group``'s parameters among ``values``."""
    return {name: values[name] for name in names(group) if name in values}


# --- checks at the boundary ------------------------------------------------------------------


def check_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check every known parameter in ``values``; the first bad one raises PipelineError.

    The checks that need only the value come first (:func:`check_values`, pd_lib.checks): a
    bad range or name is refused in well under 2 s, before the imports of pandas and
    scikit-learn that :func:`check_model_values` needs. Returns what that parsed."""
    check_values(values)
    return check_model_values(values)


def check_model_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The checks that need a model kind: its parameters, monotone, and the grid (each value
    set on the estimator it is for). A step calls only this: its click command ran
    :func:`check_values` already (steps.options.StepCommand). Returns what was parsed on the
    way (``grid`` as {name: [values]}), so a step uses the checked value instead of parsing
    its text again."""
    from pd_lib.modelling.kind_params import check_model_params
    from pd_lib.modelling.monotone import parse_monotone
    from pd_lib.modelling.search import checked_grid

    if "model" in values:
        check_model_params(values["model"], pick(values, MODEL[1:]))
    if "monotone" in values:
        parse_monotone(values["monotone"])
    parsed: dict[str, Any] = {}
    if "grid" in values:
        parsed["grid"] = checked_grid(values["grid"],
                                      values.get("tune_model", values.get("model")))
    return parsed


def check_values(values: Mapping[str, Any]) -> None:
    """The checks of :func:`check_params` that need nothing but the values."""
    if "test_size" in values:
        check_test_size(float(values["test_size"]))
    if "split" in values:
        check_split(values["split"])
    if "threshold" in values:
        check_threshold(float(values["threshold"]))
    if "search" in values:
        check_search(values["search"], int(values.get("cv", 2)))
    if "stage" in values:
        check_stage(values["stage"])
    if "force" in values:
        check_force(values["force"], values.get("reason", ""))
    if "reasons" in values:
        check_reasons(values["reasons"])
    if "model_name" in values:
        check_model_name(values["model_name"])
    if "n_samples" in values:
        check_generated_size(values.get("source", "synthetic"), int(float(values["n_samples"])),
                             int(float(values.get("n_features", 10))))
    if "env_manager" in values:
        check_env_manager(values["env_manager"])
    if "target" in values:
        check_target(values["target"])
    if "seed" in values:
        check_seed(values["seed"])
    if "pdo" in values:
        check_points_scale(float(values["pdo"]), float(values.get("base_odds", 50.0)))
