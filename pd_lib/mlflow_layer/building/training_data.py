"""The training data of a train or tune run: which loans (given, the newest generate run, or
generated here), downloaded and checked, and split into train, holdout and out-of-time."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd

from pd_lib.checks import check_split, check_test_size
from pd_lib.config import LOANS_ARTIFACT, TAG_DATA_SHA256
from pd_lib.data.schema import check_training_frame, sha256_of_file
from pd_lib.data.sources import load_loans
from pd_lib.data.splits import Samples, split_data
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.artifacts import local_copy, log_dataframe, run_uri

log = logging.getLogger("pd_pipeline")


def resolve_data_uri(data_uri: str, experiment_id: str) -> tuple[str, str]:
    """The loans to train on, and how they were chosen.

    An empty ``data_uri`` means: the newest finished ``generate`` run with default parameters
    in this experiment, else data generated here with those defaults and logged in this run.
    """
    from pd_lib.mlflow_layer.runner.runs import describe, find_finished_run, full_params

    if data_uri:
        return data_uri, "given"
    found = find_finished_run(experiment_id, "generate", full_params("generate", {}))
    if found is not None:
        return (run_uri(found.info.run_id, LOANS_ARTIFACT),
                f"generate run {found.info.run_id}: {describe(found)}")
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
    with local_copy(data_uri, "data_uri") as path:
        mlflow.set_tag(TAG_DATA_SHA256, sha256_of_file(path))
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise PipelineError(f"data_uri '{data_uri}' is not a readable Parquet file ({exc}); "
                                "pass the data/loans.parquet of a generate run.") from None
    check_training_frame(frame, f"data_uri '{data_uri}'")
    return frame


def prepare_data(data_uri: str, test_size: float, seed: int, split: str = "random"
                 ) -> Samples:
    """Resolve, load and split the training data, logging which data was used."""
    check_test_size(test_size)
    check_split(split)
    experiment_id = mlflow.active_run().info.experiment_id
    resolved, how = resolve_data_uri(data_uri, experiment_id)
    log.info("training data: %s (%s)", resolved, how)
    mlflow.log_params({"resolved_data_uri": resolved})
    mlflow.set_tag("pd.data_choice", how)
    samples = split_data(load_training_data(resolved), test_size, seed, split)
    log.info("split=%s: %d train, %d holdout%s rows", split, len(samples.train),
             len(samples.holdout),
             f", {len(samples.oot)} out-of-time" if samples.oot is not None else "")
    return samples
