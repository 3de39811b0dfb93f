"""Model kinds compared on one loan book: holdout AUC, calibration, fit and predict time, and
the size of the model as the pipeline saves it (skops + MLmodel + input example + pd_lib).

    python -m benchmarks.model_kinds --n-samples 100000 [--source synthetic] [--kinds ...]

Prints one ``RESULT {json}`` line. RandomForest's fit time and size grow linearly with its
number of trees, so ``--rf-trees`` can fit fewer trees on large books and scale both to 100
(the row says so).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import MIB, dir_size_mib
from pd_lib.cores import take_step_share
from pd_lib.validation.calibration import expected_calibration_error

KINDS = {
    "hist_gradient_boosting": {},
    "random_forest": {"n_estimators": 100},
    "random_forest_leaf50": {"n_estimators": 100, "min_samples_leaf": 50},
    "logistic_regression": {},
    "spline_logistic_regression": {},
}


def load_book(source: str, n_samples: int, seed: int):
    """The loan book as the generate step makes it, and the source's name."""
    from pd_lib.data.sources import load_loans

    return load_loans(source, n_samples, 10, 0.1, seed), source


def load_samples(source: str, n_samples: int, seed: int):
    """The loan book split as train splits it by default (20% random holdout): train and
    holdout frames, and the source's name."""
    from pd_lib.data.splits import split_data

    book, source = load_book(source, n_samples, seed)
    samples = split_data(book, 0.2, seed)
    return samples.train, samples.holdout, source


def measure_kind(kind: str, params: dict, train, holdout, seed: int, trees: int | None) -> dict:
    """Fit, score and save one model kind."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    from pd_lib.config import TARGET_COL
    from pd_lib.data.schema import feature_columns
    from pd_lib.mlflow_layer import pd_flavor
    from pd_lib.mlflow_layer.building.model_logging import model_save_kwargs
    from pd_lib.modelling.factory import build_model

    model_name = "random_forest" if kind.startswith("random_forest") else kind
    params = dict(params)
    scale = 1.0
    if model_name == "random_forest" and trees and trees < params.get("n_estimators", 100):
        scale = params["n_estimators"] / trees
        params["n_estimators"] = trees
    features = feature_columns(train)
    model = build_model(model_name, params, train[features], seed=seed)
    started = time.perf_counter()
    model.fit(train[features], train[TARGET_COL].to_numpy())
    fit_seconds = (time.perf_counter() - started) * scale
    started = time.perf_counter()
    pd_holdout = model.predict_pd(holdout[features])
    predict_seconds = (time.perf_counter() - started) * scale
    y = holdout[TARGET_COL].to_numpy()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        kwargs = model_save_kwargs(model, train)
        pd_flavor.save_model(model, str(Path(tmp) / "model"), **kwargs)
        save_seconds = time.perf_counter() - started
        model_file = (Path(tmp) / "model" / "model.skops").stat().st_size / MIB
        size = dir_size_mib(Path(tmp) / "model") + model_file * (scale - 1)
    return {
        "kind": kind, "params": params, "scaled_from_trees": trees if scale != 1 else None,
        "roc_auc": float(roc_auc_score(y, pd_holdout)),
        "brier": float(brier_score_loss(y, pd_holdout)),
        "log_loss": float(log_loss(y, pd_holdout)),
        "calibration_error": expected_calibration_error(y, pd_holdout),
        "mean_pd": float(pd_holdout.mean()), "default_rate": float(y.mean()),
        "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
        "save_seconds": save_seconds * (scale if scale != 1 else 1), "size_mib": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rf-trees", type=int, default=0,
                        help="Fit this many RF trees and scale time and size to 100.")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    threads = take_step_share()
    train, holdout, source = load_samples(args.source, args.n_samples, args.seed)
    rows = [measure_kind(k, KINDS[k], train, holdout, args.seed, args.rf_trees or None)
            for k in args.kinds.split(",")]
    oracle = None
    if "true_pd" in holdout.columns:
        from sklearn.metrics import roc_auc_score

        oracle = float(roc_auc_score(holdout["default"], holdout["true_pd"]))
    print("RESULT " + json.dumps({"n_samples": args.n_samples, "source": source,
                                  "threads": threads, "oracle_roc_auc": oracle, "rows": rows}))


if __name__ == "__main__":
    main()
