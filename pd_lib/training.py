"""Split, fit and log a PD model: the work shared by the train and tune steps."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.model_selection import train_test_split

from pd_lib.config import (
    HOLDOUT_ARTIFACT,
    LOANS_ARTIFACT,
    MODEL_ARTIFACT,
    PLOTS_DIR,
    SKOPS_TRUSTED_TYPES,
    TAG_DATA_SHA256,
    TARGET_COL,
)
from pd_lib.data import check_training_frame, feature_columns, load_loans, sha256_of_file
from pd_lib.errors import PipelineError
from pd_lib.evaluation import Evaluation, evaluate
from pd_lib.pd_model import PDModel
from pd_lib.tracking import download_artifact, log_dataframe, log_figures, run_uri

log = logging.getLogger("pd_pipeline")

PD_LIB_DIR = str(Path(__file__).resolve().parent)


def check_test_size(test_size: float) -> None:
    """The holdout share must leave something on both sides."""
    if not 0.0 < test_size < 1.0:
        raise PipelineError(f"test_size must be between 0 and 1 (e.g. 0.2); got {test_size}.")


def split_data(
    frame: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified random split into train and holdout."""
    check_test_size(test_size)
    check_training_frame(frame, "training data")
    counts = frame[TARGET_COL].value_counts()
    n_holdout = round(len(frame) * test_size)
    if counts.min() < 2 or n_holdout < 2 or len(frame) - n_holdout < 2:
        raise PipelineError(
            f"training data: too few rows to split ({len(frame)} rows, {int(counts.min())} in "
            f"the smaller class, test_size={test_size}); use more data."
        )
    train, holdout = train_test_split(
        frame, test_size=test_size, stratify=frame[TARGET_COL], random_state=seed
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def fit(model: PDModel, train: pd.DataFrame) -> PDModel:
    """Fit ``model`` on the feature columns of ``train``, with a log line and its time."""
    started = time.perf_counter()
    model.fit(train[feature_columns(train)], train[TARGET_COL].to_numpy())
    log.info("fitted %s on %d rows in %.1f s", type(model.estimator_).__name__, len(train),
             time.perf_counter() - started)
    return model


def model_save_kwargs(model: PDModel, sample: pd.DataFrame) -> dict:
    """How every PD model is saved (log_model and the size benchmark use exactly this).

    skops with our trusted types, signature and a 5-row input example, pd_lib as code, and
    our pins instead of MLflow inferring them by loading the model in a subprocess.
    """
    X = sample[feature_columns(sample)].head(5)
    return {
        "serialization_format": "skops",
        "skops_trusted_types": SKOPS_TRUSTED_TYPES,
        "signature": infer_signature(X, model.predict(X)),
        "input_example": X,
        "code_paths": [PD_LIB_DIR],
        "pip_requirements": str(Path(PD_LIB_DIR).parent / "requirements.txt"),
    }


def log_model(model: PDModel, sample: pd.DataFrame) -> None:
    """Log ``model`` as ``model`` with signature and input example, saved with skops."""
    mlflow.sklearn.log_model(model, name=MODEL_ARTIFACT, **model_save_kwargs(model, sample))


def log_evaluation(evaluation: Evaluation) -> None:
    """Log metrics in one batch, the figures, and the scored holdout."""
    mlflow.log_metrics(evaluation.metrics)
    log_figures(evaluation.figures, PLOTS_DIR)
    log_dataframe(evaluation.holdout_scored, HOLDOUT_ARTIFACT)


def evaluate_and_log(
    model: PDModel, train: pd.DataFrame, holdout: pd.DataFrame, threshold: float
) -> Evaluation:
    """Evaluate the fitted model, then log its evaluation and the model itself."""
    evaluation = evaluate(model, train, holdout, threshold)
    log.info("holdout ROC AUC %.4f, accuracy %.4f",
             evaluation.metrics["roc_auc"], evaluation.metrics["accuracy"])
    log_evaluation(evaluation)
    log_model(model, train)
    log.info("logged model, metrics, plots and scored holdout")
    return evaluation


def resolve_data_uri(data_uri: str, experiment_id: str) -> tuple[str, str]:
    """The loans to train on, and how they were chosen.

    An empty ``data_uri`` means: the newest finished ``generate`` run with default parameters
    in this experiment, else data generated here with those defaults and logged in this run.
    """
    from pd_lib.runs import find_finished_run, full_params

    if data_uri:
        return data_uri, "given"
    found = find_finished_run(experiment_id, "generate", full_params("generate", {}))
    if found is not None:
        return run_uri(found.info.run_id, LOANS_ARTIFACT), f"generate run {found.info.run_id}"
    defaults = full_params("generate", {})
    frame = load_loans(
        source=defaults["source"], n_samples=int(float(defaults["n_samples"])),
        n_features=int(float(defaults["n_features"])),
        default_rate=float(defaults["default_rate"]), seed=int(float(defaults["seed"])),
    )
    log_dataframe(frame, LOANS_ARTIFACT)
    run_id = mlflow.active_run().info.run_id
    return run_uri(run_id, LOANS_ARTIFACT), "generated here with generate's defaults"


def load_training_data(data_uri: str) -> pd.DataFrame:
    """Download the loans by URI, tag the run with their SHA-256, and check them."""
    path = download_artifact(data_uri, "data_uri")
    mlflow.set_tag(TAG_DATA_SHA256, sha256_of_file(path))
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet file ({exc}); "
                            "pass the data/loans.parquet of a generate run.") from None
    check_training_frame(frame, f"data_uri '{data_uri}'")
    return frame


def prepare_data(data_uri: str, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Resolve, load and split the training data, logging which data was used."""
    check_test_size(test_size)
    experiment_id = mlflow.active_run().info.experiment_id
    resolved, how = resolve_data_uri(data_uri, experiment_id)
    log.info("training data: %s (%s)", resolved, how)
    mlflow.log_params({"resolved_data_uri": resolved})
    mlflow.set_tag("pd.data_choice", how)
    return split_data(load_training_data(resolved), test_size, seed)
