"""The tutorial's plain script, as a user would write it: the baseline for the pipeline.

make_classification data, a RandomForest of 100 trees on every core, accuracy and ROC AUC on a
20 % holdout, the ROC curve and confusion matrix as PNGs, the model logged (with signature and
input example, pickled as MLflow 2.x did by default) and registered, all in one process on the
tracking store named by MLFLOW_TRACKING_URI. The data and split are exactly those of
``mlflow run . -e main -P source=make_classification`` with the same n_samples and seed, so the
holdout AUCs compare like for like. Prints one ``RESULT {json}`` line.

    MLFLOW_TRACKING_URI=sqlite:///b.db python benchmarks/tutorial_baseline.py --n-samples 100000
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402

IMPORTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=10)
    parser.add_argument("--default-rate", type=float, default=0.1)
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--experiment", default="PD_Tutorial_Baseline")
    parser.add_argument("--model-name", default="pd_tutorial_baseline")
    args = parser.parse_args()
    timings = {"imports": IMPORTED - STARTED}

    t = time.perf_counter()
    n_informative = max(2, args.n_features // 2)  # as pd_lib.data.make_classification_loans
    X, y = make_classification(
        n_samples=args.n_samples, n_features=args.n_features, n_informative=n_informative,
        n_redundant=min(2, args.n_features - n_informative), weights=[1 - args.default_rate],
        flip_y=0.01, random_state=args.seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=args.seed
    )
    timings["data"] = time.perf_counter() - t

    mlflow.set_experiment(args.experiment)
    with mlflow.start_run():
        t = time.perf_counter()
        model = RandomForestClassifier(
            n_estimators=args.n_estimators, n_jobs=-1, random_state=args.seed
        ).fit(X_train, y_train)
        timings["fit"] = time.perf_counter() - t

        t = time.perf_counter()
        pd_test = model.predict_proba(X_test)[:, 1]
        metrics = {
            "accuracy": accuracy_score(y_test, (pd_test >= 0.5).astype(int)),
            "roc_auc": roc_auc_score(y_test, pd_test),
        }
        mlflow.log_params({"n_estimators": args.n_estimators, "n_samples": args.n_samples})
        mlflow.log_metrics(metrics)
        roc = RocCurveDisplay.from_predictions(y_test, pd_test)
        mlflow.log_figure(roc.figure_, "roc_curve.png")
        cm = ConfusionMatrixDisplay.from_predictions(y_test, (pd_test >= 0.5).astype(int))
        mlflow.log_figure(cm.figure_, "confusion_matrix.png")
        plt.close("all")
        timings["evaluate"] = time.perf_counter() - t

        t = time.perf_counter()
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            signature=infer_signature(X_test, pd_test),
            input_example=X_test[:5],
            registered_model_name=args.model_name,
        )
        timings["log_and_register"] = time.perf_counter() - t
    timings["total_in_process"] = time.perf_counter() - STARTED
    print("RESULT " + json.dumps({"holdout_roc_auc": metrics["roc_auc"],
                                  "accuracy": metrics["accuracy"], "timings": timings}))


if __name__ == "__main__":
    main()
