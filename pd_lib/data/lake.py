"""A loan book bigger than memory, as a lake holds it: a Parquet data set (a directory of
files, often partitioned by month) read with Spark, and a stratified training sample of it.

The sample takes every default up to a cap (half the sample) and a uniform share of the other
loans, so a book with few defaults still gives the model enough of them. A loan is kept with
probability ``default_share`` if it defaulted, ``other_share`` otherwise (Spark's
``sampleBy``, seeded). The sampling is recorded (:class:`Sampling`, the loans' Parquet
metadata and the generate run), because it changes two things downstream:

- **Calibration.** A model fitted on the sample learns the sample's default odds, which are
  the book's times ``default_share / other_share``. Its PDs are brought back to the book by
  dividing the odds by that factor (the prior correction of King and Zeng, 2001: exact for a
  sample stratified on the outcome), :func:`book_odds_factor`.
- **Validation.** The holdout and the training reference for PSI/CSI must look like the book:
  :func:`book_frame` keeps each sampled default with probability ``other_share /
  default_share``, so every loan of the book is in it with the same probability.

pyspark is imported only when a Spark function runs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from pd_lib.config import DATE_COL, TARGET_COL
from pd_lib.data.ingest import canonical_loans
from pd_lib.errors import PipelineError
from pd_lib.spark_session import read_parquet, spark_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame

log = logging.getLogger("pd_pipeline")

SAMPLING_ATTR = "pd_sampling"
DEFAULTS_CAP_SHARE = 0.5  # at most this share of the sample are defaults


@dataclass(frozen=True)
class Sampling:
    """How a training sample was drawn from a book: the book's labelled loans and defaults,
    the share of each class kept, and the seed."""

    book_loans: int
    book_defaults: int
    default_share: float
    other_share: float
    seed: int

    @property
    def book_default_rate(self) -> float:
        return self.book_defaults / self.book_loans

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "book_default_rate": self.book_default_rate}


def sampling_shares(book_loans: int, book_defaults: int, n_samples: int) -> tuple[float, float]:
    """(default share, other share): every default up to DEFAULTS_CAP_SHARE of ``n_samples``,
    the rest of the sample a uniform share of the other loans (both at most 1)."""
    others = book_loans - book_defaults
    kept_defaults = min(book_defaults, int(n_samples * DEFAULTS_CAP_SHARE))
    default_share = kept_defaults / book_defaults
    other_share = min(1.0, max(n_samples - kept_defaults, 0) / others)
    return default_share, other_share


def book_odds_factor(sampling: Sampling | None) -> float:
    """What the sample's default odds are divided by to be the book's: default share over
    other share (1 without a sampling)."""
    if sampling is None:
        return 1.0
    return sampling.default_share / sampling.other_share


def book_frame(frame: pd.DataFrame, sampling: Sampling | None, seed: int) -> pd.DataFrame:
    """``frame`` (part of a stratified sample) as a uniform sample of the book: each default
    kept with probability other_share / default_share (seeded), every other loan kept."""
    factor = book_odds_factor(sampling)
    if factor <= 1.0:  # defaults were not over-sampled
        return frame
    keep = (frame[TARGET_COL].to_numpy() != 1) | (
        np.random.default_rng(seed).uniform(size=len(frame)) < 1.0 / factor)
    return frame[keep].reset_index(drop=True)


def sampling_of(frame: pd.DataFrame) -> Sampling | None:
    """The sampling recorded on loans read from a generate run's Parquet (None: the whole
    book)."""
    recorded = frame.attrs.get(SAMPLING_ATTR)
    if not recorded:
        return None
    return Sampling(int(recorded["book_loans"]), int(recorded["book_defaults"]),
                    float(recorded["default_share"]), float(recorded["other_share"]),
                    int(recorded["seed"]))


def sample_book(book: SparkDataFrame, where: str, target: str, n_samples: int, seed: int,
                drop: list[str]) -> tuple[pd.DataFrame, Sampling]:
    """The stratified sample of ``book`` (a Spark DataFrame read from ``where``) as pandas,
    without the columns ``drop`` (a data set's partition columns), and how it was drawn.
    Labels must be 0/1 (numbers or booleans); rows without one are left out."""
    from pyspark.sql import functions as F

    if target not in book.columns:
        raise PipelineError(f"{where}: no column '{target}' (the default flag); pass "
                            "target=<its name>. Columns: " + ", ".join(book.columns[:12]))
    flag = F.col(target).cast("double")
    counts = {row["flag"]: int(row["count"]) for row in
              book.groupBy(flag.alias("flag")).count().collect()}
    defaults, others = counts.get(1.0, 0), counts.get(0.0, 0)
    odd = {k: v for k, v in counts.items() if k not in (0.0, 1.0)}
    if defaults < 2 or others < 2:
        raise PipelineError(f"{where}: column '{target}' has {defaults} defaults and {others} "
                            "other loans labelled 0/1; the book needs both (labels must be 0 "
                            "or 1, or true/false).")
    if sum(odd.values()) > defaults + others:
        raise PipelineError(f"{where}: most of column '{target}' is not 0/1 or is empty; "
                            "write the default flag as 0/1 in the data set.")
    if odd:
        log.warning("%s: %d loans without a 0/1 label in '%s' are left out", where,
                    sum(odd.values()), target)
    default_share, other_share = sampling_shares(defaults + others, defaults, n_samples)
    sample = (book.withColumn(target, flag).where(flag.isin(0.0, 1.0))
              .sampleBy(target, {1.0: default_share, 0.0: other_share}, seed)
              .drop(*drop).toPandas())
    sample[target] = sample[target].astype(np.int64)
    return sample, Sampling(defaults + others, defaults, default_share, other_share, seed)


HIVE_SEGMENT = re.compile(r"^([^=/]+)=[^/]*$")


def partition_columns(frame: SparkDataFrame) -> list[str]:
    """The columns a Parquet data set is partitioned by (``month=2024-01/part-0.parquet``,
    as Spark and pyarrow write a lake), read from the folders of its files; [] for one file.
    The scores of such a book are written partitioned the same way."""
    keys: list[str] = []
    for file in frame.inputFiles():
        for segment in urlparse(file).path.split("/")[:-1]:
            found = HIVE_SEGMENT.match(unquote(segment))
            if found and found.group(1) in frame.columns and found.group(1) not in keys:
                keys.append(found.group(1))
    return keys


def read_lake(source: str, n_samples: int, seed: int, target: str = TARGET_COL,
              id_col: str = "", date_col: str = "", label_map: str = "",
              spark_master: str = "local[2]") -> pd.DataFrame:
    """The stratified training sample of the Parquet data set (or file) ``source``, read with
    Spark, in the canonical schema, with its :class:`Sampling` in ``attrs`` (the loans'
    Parquet file keeps it)."""
    if label_map:
        raise PipelineError("label_map is for engine=pandas; with engine=spark write the "
                            "default flag as 0/1 in the data set.")
    if "://" not in source and not Path(source).exists():
        raise PipelineError(f"{source}: not found; pass source=<a Parquet data set directory "
                            "or file> (hdfs://, s3a:// or a local path).")
    book = read_parquet(spark_session(spark_master, app_name="pd-generate"), source,
                        f"source '{source}'")
    sample, sampling = sample_book(book, source, target or TARGET_COL, n_samples, seed,
                                   partition_columns(book))
    log.info("%s: %d of %d loans sampled (defaults %.4f of %d, others %.4f)", source,
             len(sample), sampling.book_loans, sampling.default_share, sampling.book_defaults,
             sampling.other_share)
    dates = date_col or DATE_COL
    if dates in sample.columns and pd.api.types.is_integer_dtype(sample[dates]):
        # pandas writes timestamps as Parquet TIMESTAMP(NANOS), which this project's Spark
        # session reads as nanoseconds since the epoch (pd_lib.spark_session)
        sample[dates] = pd.to_datetime(sample[dates], unit="ns")
    frame = canonical_loans(sample, Path(source), target, id_col, date_col)
    frame.attrs[SAMPLING_ATTR] = sampling.as_dict()
    return frame
