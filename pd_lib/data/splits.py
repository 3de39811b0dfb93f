"""Train / holdout / out-of-time samples: the ``split`` parameter (random or time).

- ``random``: a stratified random holdout of ``test_size``; no out-of-time sample.
- ``time``: the latest monthly vintages of ``origination_date`` making up at least
  ``test_size`` of the loans form the out-of-time (OOT) sample; the earlier loans are split
  like ``random`` into train and an in-time holdout. The holdout stays the sample every
  unprefixed metric and the promotion gate use; the OOT metrics are logged as ``oot_*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from pd_lib.checks import check_split, check_test_size
from pd_lib.config import DATE_COL, TARGET_COL
from pd_lib.data.lake import Sampling, book_frame, sampling_of
from pd_lib.data.schema import check_training_frame
from pd_lib.errors import PipelineError


@dataclass
class Samples:
    """The samples a model is fitted and judged on. For a stratified sample of a larger book
    (``sampling``), the model is fitted on ``train``, while ``holdout``, ``oot`` and
    ``reference`` (the training sample for train_* metrics and PSI/CSI) look like the book
    (pd_lib.data.lake.book_frame); otherwise ``reference`` is ``train``."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    oot: pd.DataFrame | None = None
    reference: pd.DataFrame | None = None
    sampling: Sampling | None = None

    def __post_init__(self) -> None:
        if self.reference is None:
            self.reference = self.train


def _check_both_classes(frame: pd.DataFrame, what: str, hint: str) -> None:
    counts = frame[TARGET_COL].value_counts()
    if len(frame) < 2 or counts.reindex([0, 1], fill_value=0).min() < 2:
        raise PipelineError(
            f"{what} has {len(frame)} rows with {int(counts.get(1, 0))} defaulters and "
            f"{int(counts.get(0, 0))} non-defaulters; it needs at least 2 of each. {hint}"
        )


def random_split(frame: pd.DataFrame, test_size: float, seed: int
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified random split into train and holdout."""
    _check_both_classes(frame, "the data to split", "Use more data.")
    n_holdout = round(len(frame) * test_size)
    if n_holdout < 2 or len(frame) - n_holdout < 2:
        raise PipelineError(f"too few rows to split ({len(frame)} rows, test_size={test_size});"
                            " use more data.")
    train, holdout = train_test_split(frame, test_size=test_size, stratify=frame[TARGET_COL],
                                      random_state=seed)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def out_of_time_mask(dates: pd.Series, test_size: float) -> pd.Series:
    """True for loans in the latest monthly vintages that together hold >= test_size of all."""
    vintages = dates.dt.to_period("M")
    counts = vintages.value_counts().sort_index(ascending=False)
    needed = test_size * len(dates)
    taken, total = [], 0
    for vintage, count in counts.items():
        if total >= needed:
            break
        taken.append(vintage)
        total += count
    return vintages.isin(taken)


def time_split(frame: pd.DataFrame, test_size: float, seed: int) -> Samples:
    """Latest vintages out of time; the rest split at random into train and holdout."""
    if DATE_COL not in frame.columns:
        raise PipelineError(
            f"split=time needs an '{DATE_COL}' column and the data has none; use split=random, "
            "or generate the data with a date column (source=synthetic has one; for a file "
            "pass date_col=<its origination date column>)."
        )
    dates = pd.to_datetime(frame[DATE_COL])
    if dates.isna().any():
        raise PipelineError(f"split=time: column '{DATE_COL}' has {int(dates.isna().sum())} "
                            "missing dates; fill them or use split=random.")
    oot_rows = out_of_time_mask(dates, test_size)
    if oot_rows.all():
        raise PipelineError(
            f"split=time: the latest vintage alone holds {oot_rows.mean():.0%} of the loans, so "
            f"nothing is left to train on before it; the data spans "
            f"{dates.dt.to_period('M').nunique()} month(s). Use split=random or more vintages."
        )
    oot = frame[oot_rows].reset_index(drop=True)
    first = dates[oot_rows].min().strftime("%Y-%m")
    _check_both_classes(oot, f"the out-of-time sample (vintages from {first})",
                        "Use a larger test_size or split=random.")
    train, holdout = random_split(frame[~oot_rows], test_size, seed)
    return Samples(train, holdout, oot)


def split_samples(frame: pd.DataFrame, test_size: float, seed: int, split: str = "random"
                  ) -> Samples:
    """Train, holdout and (for split=time) out-of-time samples of ``frame``."""
    check_split(split)
    sampling = sampling_of(frame)
    samples = (time_split(frame, test_size, seed) if split == "time"
               else Samples(*random_split(frame, test_size, seed)))
    if sampling is None:
        return samples
    return Samples(samples.train, book_frame(samples.holdout, sampling, seed),
                   None if samples.oot is None else book_frame(samples.oot, sampling, seed + 1),
                   book_frame(samples.train, sampling, seed + 2), sampling)


def split_data(
    frame: pd.DataFrame, test_size: float, seed: int, split: str = "random"
) -> Samples:
    """Train, holdout and (split=time) out-of-time samples; see :mod:`pd_lib.data.splits`."""
    check_test_size(test_size)
    check_split(split)
    check_training_frame(frame, "training data")
    return split_samples(frame, test_size, seed, split)
