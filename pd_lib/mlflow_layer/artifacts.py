"""Artifacts by URI: download, read, and log data frames, JSON and PNGs in the active run."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from pd_lib.config import DATA_SUMMARY_ARTIFACT, LOANS_ARTIFACT, TAG_DATA_SHA256, TAG_SOURCE_SHA256
from pd_lib.data.lake import SAMPLING_ATTR
from pd_lib.data.schema import data_summary, sha256_of_file, write_parquet
from pd_lib.data.sources import source_sha256
from pd_lib.errors import PipelineError, first_line, mask_secrets

log = logging.getLogger("pd_pipeline")


def download_artifact(uri: str, what: str, dst_path: str | None = None) -> Path:
    """Download ``uri`` (runs:/..., models:/..., a path) into ``dst_path`` (None: a folder
    MLflow makes and nobody removes: prefer :func:`local_copy`) and return the local path."""
    if not uri:
        raise PipelineError(f"no {what} URI given.")
    if uri.split("://", 1)[0].lower() in ("http", "https"):
        raise PipelineError(f"{what} '{mask_secrets(uri)}' is a web address; the pipeline reads "
                            "no URL: download the file and pass its path, or pass a runs:/<run "
                            "id>/... URI.")
    if "://" not in uri and ":/" not in uri:
        path = Path(uri)
        if not path.exists():
            raise PipelineError(f"{what} '{uri}' does not exist; pass a runs:/<run_id>/... URI "
                                "or an existing file path.")
        return path
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dst_path))
    except (MlflowException, OSError, ValueError) as exc:
        raise PipelineError(
            f"{what} '{mask_secrets(uri)}' could not be resolved ({mask_secrets(first_line(exc))});"
            " check the run id and the artifact path (mlflow ui lists both)."
        ) from None


@contextlib.contextmanager
def local_copy(uri: str, what: str) -> Iterator[Path]:
    """``uri`` as a local path within the block: a downloaded copy lives in a temporary folder
    removed when the block ends, on success, error or signal alike, so no copy of a loan
    book stays outside the store (a local path is used where it is)."""
    with tempfile.TemporaryDirectory(prefix="pd-artifact-") as folder:
        path = download_artifact(uri, what, folder)
        if path.is_dir():
            raise PipelineError(f"{what} '{uri}' is a directory, not a file; pass a .parquet "
                                "or .csv file (or a runs:/<run id>/data/loans.parquet URI).")
        if not os.access(path, os.R_OK):
            raise PipelineError(f"{what} '{uri}' cannot be read (permission denied); make it "
                                "readable for this user.")
        yield path


def read_parquet_artifact(uri: str, what: str) -> pd.DataFrame:
    """Download a Parquet artifact by URI and read it (the copy is removed)."""
    with local_copy(uri, what) as path:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise PipelineError(f"{what} '{uri}' is not a readable Parquet file: {exc}"
                                ) from None


def log_dataframe(frame: pd.DataFrame, artifact_file: str) -> None:
    """Log ``frame`` as a Parquet artifact at ``artifact_file`` (e.g. data/loans.parquet)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(artifact_file).name
        write_parquet(frame, local)
        mlflow.log_artifact(str(local), artifact_path=str(Path(artifact_file).parent))


def log_loans(frame: pd.DataFrame, source: str = "") -> dict:
    """Log ``frame`` as data/loans.parquet with its summary; tag the run with its SHA-256
    and, when the loans came from a user file ``source``, that file's SHA-256."""
    if source_sha256(source):
        mlflow.set_tag(TAG_SOURCE_SHA256, source_sha256(source))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(LOANS_ARTIFACT).name
        write_parquet(frame, path)
        summary = {**data_summary(frame), "sha256": sha256_of_file(path)}
        mlflow.set_tag(TAG_DATA_SHA256, summary["sha256"])
        mlflow.log_metrics({"rows": summary["rows"], "default_rate": summary["default_rate"]})
        sampling = frame.attrs.get(SAMPLING_ATTR)
        if sampling:  # a stratified sample of a larger book: how it was drawn
            summary["sampling"] = sampling
            mlflow.log_metrics({f"book_{k.removeprefix('book_')}": v for k, v in
                                sampling.items() if k.startswith("book_")} | {
                "sample_default_share": sampling["default_share"],
                "sample_other_share": sampling["other_share"]})
            mlflow.set_tag("pd.sampling_seed", str(sampling["seed"]))
        log_json(summary, DATA_SUMMARY_ARTIFACT)
        mlflow.log_artifact(str(path), artifact_path=str(Path(LOANS_ARTIFACT).parent))
    log.info("logged %d loans, default rate %.4f", summary["rows"], summary["default_rate"])
    return summary


def log_json(payload: dict, artifact_file: str) -> None:
    """Log a dict as a pretty JSON artifact."""
    mlflow.log_text(json.dumps(payload, indent=2, sort_keys=True, default=str), artifact_file)


def log_pngs(pngs: dict[str, bytes], directory: str) -> None:
    """Log each PNG as ``<directory>/<name>.png``, all in one artifact upload."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, png in pngs.items():
            (Path(tmp) / f"{name}.png").write_bytes(png)
        mlflow.log_artifacts(tmp, directory)


def run_uri(run_id: str, artifact_path: str) -> str:
    """``runs:/<run_id>/<artifact_path>``."""
    return f"runs:/{run_id}/{artifact_path}"
