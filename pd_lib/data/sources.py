"""Where loans come from: the synthetic book, the tutorial's make_classification data, or a
user's file. Every source returns the canonical schema of :mod:`pd_lib.data.schema`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pd_lib.config import ID_COL, TARGET_COL
from pd_lib.data.schema import check_generate_params, integer_features_as_float, sha256_of_file
from pd_lib.errors import PipelineError

SOURCES = ("synthetic", "make_classification")


def make_classification_loans(
    n_samples: int, n_features: int, default_rate: float, seed: int
) -> pd.DataFrame:
    """The tutorial's data: anonymous features from make_classification, ~default_rate defaults."""
    from sklearn.datasets import make_classification  # ~1.5 s import; synthetic needs none

    check_generate_params(n_samples, default_rate, n_features)
    n_informative = max(2, n_features // 2)
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=min(2, n_features - n_informative),
        weights=[1.0 - default_rate],
        flip_y=0.01,
        random_state=seed,
    )
    frame = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(n_features)])
    frame.insert(0, ID_COL, np.arange(n_samples, dtype=np.int64))
    frame[TARGET_COL] = y.astype(np.int64)
    return frame


def load_loans(
    source: str,
    n_samples: int,
    n_features: int,
    default_rate: float,
    seed: int,
    target: str = TARGET_COL,
    id_col: str = "",
    date_col: str = "",
    label_map: str = "",
    scenario: str = "development",
    engine: str = "pandas",
    spark_master: str = "local[2]",
) -> pd.DataFrame:
    """Load or generate the loan data named by ``source``: a generator name or a file path;
    ``scenario`` other than development makes a later period of the synthetic book. With
    ``engine`` spark, ``source`` is a Parquet data set read with Spark, and the loans are a
    stratified sample of ``n_samples`` of it (:mod:`pd_lib.data.lake`)."""
    if scenario != "development":
        from pd_lib.data.synthetic import check_scenario, synthetic_period

        check_scenario(scenario)
        if source != "synthetic":
            raise PipelineError(f"scenario={scenario} makes a later period of the synthetic "
                                f"book; it needs source=synthetic, not '{source}'.")
        return integer_features_as_float(
            synthetic_period(n_samples, default_rate, seed, scenario))
    if engine not in ("pandas", "spark"):
        raise PipelineError(f"unknown engine '{engine}'; choose pandas or spark.")
    if engine == "spark":
        if not is_file_source(source):
            raise PipelineError(f"engine=spark reads a Parquet data set; source={source} is "
                                "generated here: use engine=pandas.")
        from pd_lib.data.lake import SAMPLING_ATTR, read_lake

        frame = read_lake(source, n_samples, seed, target, id_col, date_col, label_map,
                          spark_master)
        sampling = frame.attrs[SAMPLING_ATTR]
        frame = integer_features_as_float(frame)
        frame.attrs[SAMPLING_ATTR] = sampling
        return frame
    if source == "make_classification":
        frame = make_classification_loans(n_samples, n_features, default_rate, seed)
    elif source == "synthetic":
        from pd_lib.data.synthetic import synthetic_loan_book

        check_generate_params(n_samples, default_rate)
        frame = synthetic_loan_book(n_samples, default_rate, seed)
    else:
        from pd_lib.data.ingest import read_loan_file

        frame = read_loan_file(source, target, id_col, date_col, label_map)
    return integer_features_as_float(frame)


def is_file_source(source: str) -> bool:
    """True when ``source`` names a user file rather than a generator."""
    return source not in SOURCES


def source_sha256(source: str) -> str:
    """A user file's SHA-256 ("" for a generator or a missing file): an edited file with the
    same name must be read again, never served from an earlier run."""
    if is_file_source(source) and Path(source).is_file():
        return sha256_of_file(source)
    return ""
