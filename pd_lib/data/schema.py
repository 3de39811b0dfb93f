"""Loan data: the tutorial's make_classification mode, the source dispatcher, summaries.

Every source returns the canonical schema of :mod:`pd_lib.config`: ``loan_id``, the
features, ``default`` (0/1) and, where known, ``origination_date`` and ``true_pd``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from pd_lib.config import NON_FEATURE_COLS, TARGET_COL
from pd_lib.errors import PipelineError

MIN_SAMPLES = 20


def check_generate_params(n_samples: int, default_rate: float, n_features: int = 2) -> None:
    """Refuse sizes and rates no model can be trained on."""
    if n_samples < MIN_SAMPLES:
        raise PipelineError(
            f"n_samples must be at least {MIN_SAMPLES} so the data can be split into train and "
            f"holdout; got {n_samples}. Pass a larger -P n_samples=..."
        )
    if not 0.0 < default_rate < 1.0:
        raise PipelineError(
            f"default_rate must be strictly between 0 and 1; got {default_rate}. "
            "Pass e.g. -P default_rate=0.1"
        )
    if n_features < 2:
        raise PipelineError(f"n_features must be at least 2; got {n_features}.")


def integer_features_as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Store integer features as float64, so a model trains on one numeric type.

    A model trained on int64 columns would get a ``long`` input, and MLflow's schema check
    refuses NaN and floats there: next month's file with a blank in that column would be
    refused. Scoring converts the file's whole numbers back (:func:`numbers_as_float`).
    """
    numeric_ints = [c for c in feature_columns(frame)
                    if pd.api.types.is_integer_dtype(frame[c].dtype)]
    return frame.astype({c: "float64" for c in numeric_ints}) if numeric_ints else frame


# Integers a float64 holds exactly: a column of whole numbers up to this magnitude is the
# same data as the float column the model was trained on.
EXACT_FLOAT_INTEGERS = 2 ** 53


def numbers_as_float(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with its ``columns`` (a model's numeric inputs) as the float64 that training
    saw (:func:`integer_features_as_float`): whole numbers and flags converted, a column of
    nothing but blanks made NaN. Refused, naming the column: text, and integers too large
    for a float64 to hold exactly. The frame itself when nothing needs converting."""
    converted = {}
    for column in (c for c in columns if c in frame.columns):
        values = frame[column]
        if pd.api.types.is_float_dtype(values.dtype):
            continue
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(
                values.dtype):
            present = values.dropna()
            if len(present) and np.abs(present.to_numpy(dtype=np.float64)).max() > \
                    EXACT_FLOAT_INTEGERS:
                raise PipelineError(
                    f"column {column} holds integers too large for the model's numeric input "
                    f"(|x| > 2**53, found {present.abs().max()}); check that it is the "
                    "characteristic the model was trained on.")
        elif values.notna().any():
            raise PipelineError(
                f"column {column} holds {values.dtype} values, and the model takes numbers "
                "there; fix its type in the data (e.g. numbers stored as text).")
        converted[column] = "float64"
    return frame.astype(converted) if converted else frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The columns a model may use: all but id, date, target, true PD and predicted PD."""
    return [c for c in frame.columns if c not in NON_FEATURE_COLS]


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` deterministically: same frame, same bytes."""
    frame.to_parquet(path, index=False, compression="snappy")


def sha256_of_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_summary(frame: pd.DataFrame) -> dict:
    """Rows, columns with dtypes and missing counts, the default rate, and per column the
    cells read as missing from tokens such as 'n/a' or 'NULL' (when the source was a CSV)."""
    return {
        "rows": int(len(frame)),
        "columns": {c: str(t) for c, t in frame.dtypes.items()},
        "missing": {c: int(n) for c, n in frame.isna().sum().items() if n},
        "read_as_missing": dict(frame.attrs.get("read_as_missing") or {}),
        "default_rate": float(frame[TARGET_COL].mean()),
    }


def check_training_frame(frame: pd.DataFrame, where: str) -> None:
    """Refuse data a PD model cannot be trained on, naming ``where`` it came from."""
    if TARGET_COL not in frame.columns:
        raise PipelineError(
            f"{where}: no '{TARGET_COL}' column; run the generate step or pass data with it."
        )
    classes = sorted(frame[TARGET_COL].dropna().unique().tolist())
    if classes != [0, 1]:
        raise PipelineError(
            f"{where}: column '{TARGET_COL}' must hold both 0 and 1; found {classes}. "
            "A PD model needs defaulters and non-defaulters."
        )
    if not feature_columns(frame):
        raise PipelineError(f"{where}: no feature columns besides id, date and target.")
