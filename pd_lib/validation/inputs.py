"""The inputs every PD metric checks first: default flags that are 0 or 1, PDs in
[0, 1] with none missing (each refusal names how many and what to do), the regulatory PD
floor, and whether a sample has both classes or is perfectly separated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pd_lib import probability
from pd_lib.config import PD_FLOOR
from pd_lib.errors import PipelineError


def _as_float(values: np.ndarray) -> np.ndarray:
    """``values`` as a flat float array, missing values (None, pd.NA, text) as NaN."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        flat = pd.Series(np.asarray(values, dtype=object).ravel())
        return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)


def check_flags(y_true: np.ndarray) -> np.ndarray:
    """The default flags as ints, or a PipelineError naming how many are missing or not 0/1
    (a missing flag must never be cast to an integer and counted)."""
    y = _as_float(y_true)
    other = y[~np.isnan(y) & (y != 0.0) & (y != 1.0)]
    check_flag_counts(y.size, int(np.isnan(y).sum()), other.size,
                      float(other[0]) if other.size else float("nan"))
    return y.astype(int)


def check_flag_counts(size: int, missing: int, other: int, example: float) -> None:
    """:func:`check_flags` from counts: of ``size`` flags, ``missing`` missing and ``other``
    neither 0 nor 1 (``example`` one of them)."""
    if missing:
        raise PipelineError(f"{missing} of {size} default flags are missing; every loan "
                            "needs a flag of 0 or 1 to be validated.")
    if other:
        raise PipelineError(f"{other} of {size} default flags are not 0 or 1 "
                            f"(e.g. {example:g}).")


def check_pds(pd_pred: np.ndarray) -> np.ndarray:
    """The PDs as floats, or a PipelineError naming how many are missing or outside [0, 1]."""
    p = _as_float(pd_pred)
    missing = int(np.isnan(p).sum())
    outside = int(((p < 0.0) | (p > 1.0)).sum())
    check_pd_counts(p.size, missing, outside, float(np.min(p)) if outside else 0.0,
                    float(np.max(p)) if outside else 0.0)
    return p


def check_pd_counts(size: int, missing: int, outside: int, low: float, high: float) -> None:
    """:func:`check_pds` from counts: of ``size`` PDs, ``missing`` missing and ``outside``
    outside [0, 1], the smallest ``low`` and the largest ``high``."""
    if missing:
        raise PipelineError(f"{missing} of {size} PDs are missing (NaN); the model must "
                            "score every loan.")
    if outside:
        raise PipelineError(f"{outside} of {size} PDs lie outside [0, 1] "
                            f"(min {low:.6g}, max {high:.6g}); a PD is a probability.")


def checked_arrays(y_true: np.ndarray, pd_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = check_flags(y_true), check_pds(pd_pred)
    if y.shape != p.shape:
        raise ValueError(f"y_true and pd_pred must have the same length; got {y.size}, {p.size}.")
    return y, p


def floor_pds(pd_pred: np.ndarray, floor: float = PD_FLOOR) -> np.ndarray:
    """max(PD, ``floor``): the PD every validation statistic reads (CRR Art. 160(1): 0.03%)."""
    return np.maximum(np.asarray(pd_pred, dtype=float), floor)


def both_classes(y_true: np.ndarray) -> bool:
    """Whether the sample holds at least one defaulter and one non-defaulter."""
    y = np.asarray(y_true)
    return bool(y.size) and 0 < int(y.sum()) < y.size


def perfectly_separated(y_true: np.ndarray, pd_pred: np.ndarray) -> bool:
    """Whether logit(PD) separates the classes (completely or quasi-completely): every
    defaulter's PD at or above every non-defaulter's, or the reverse. Then the maximum
    likelihood calibration slope does not exist (it runs to infinity)."""
    y, z = np.asarray(y_true), probability.logit(np.asarray(pd_pred, dtype=float))
    if not both_classes(y):
        return False
    bad, good = z[y == 1], z[y == 0]
    return bool(bad.min() >= good.max() or good.min() >= bad.max())
