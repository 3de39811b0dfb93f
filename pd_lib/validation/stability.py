"""Stability: PSI of scores and CSI of characteristics, from counts in bins fixed on the
reference sample (the same counts on both engines), with the Haldane-Anscombe pseudo-count
for empty bins."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pd_lib.errors import PipelineError
from pd_lib.probability import DEFAULT_BINS

# Added to every bin's count of both samples before PSI/CSI take shares (issue 28): the
# Haldane-Anscombe correction for the logarithm of a ratio of frequencies (Haldane 1956,
# Anscombe 1956), the posterior mean of the shares under Jeffreys' prior; keeps ln(a/r)
# finite where a bin is empty, and shrinks less as samples grow.
PSI_PSEUDO_COUNT = 0.5
# The category of a missing value in CSI.
MISSING_CATEGORY = "<missing>"


def psi_from_counts(reference: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum (a - r) ln(a / r) over the bins either sample uses, the shares taken after
    adding PSI_PSEUDO_COUNT to every such bin's count in both samples (so they still sum
    to 1; a bin empty in both samples is no bin)."""
    reference, actual = np.asarray(reference, dtype=float), np.asarray(actual, dtype=float)
    used = (reference > 0) | (actual > 0)
    ref = smoothed_shares(reference[used])
    act = smoothed_shares(actual[used])
    return float(np.sum((act - ref) * np.log(act / ref)))


def smoothed_shares(counts: np.ndarray) -> np.ndarray:
    """Shares of ``counts`` with PSI_PSEUDO_COUNT added to each."""
    counts = counts + PSI_PSEUDO_COUNT
    return counts / counts.sum()


def quantile_bin_edges(reference: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Inner bin edges at the reference sample's quantiles (duplicates dropped)."""
    reference = np.asarray(reference, dtype=float)
    reference = reference[~np.isnan(reference)]
    if reference.size == 0:
        return np.array([])
    quantiles = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(quantiles)


def binned_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (right-closed at the edges), with a last bin for missing values."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(bins, minlength=edges.size + 1).astype(float)
    return np.append(counts, missing.sum())


def population_stability_index(
    reference: np.ndarray,
    actual: np.ndarray,
    n_bins: int = DEFAULT_BINS,
) -> float:
    """PSI = sum (a - r) ln(a / r) over bins cut at the reference sample's quantiles.

    Missing values form a bin of their own; shares as :func:`psi_from_counts` smooths them.
    Rules of thumb: below 0.10 stable, 0.10-0.25 some shift, above 0.25 a shifted population.
    """
    check_stability_sides(np.asarray(reference, dtype=float), np.asarray(actual, dtype=float))
    edges = quantile_bin_edges(reference, n_bins)
    return psi_from_counts(binned_counts(reference, edges), binned_counts(actual, edges))


def check_stability_sides(reference: np.ndarray, actual: np.ndarray, what: str = "PSI") -> None:
    """PSI and CSI compare two samples of values: refuse an empty side, or a side with no
    value at all (every one missing), instead of returning a number that means nothing (an
    empty sample gave 6.90, an all-missing reference 18.42, both all-missing 0.0)."""
    for side, values in (("reference", reference), ("actual", actual)):
        if values.size == 0:
            raise PipelineError(f"{what}: the {side} sample is empty; compare samples with rows.")
        if np.isnan(values).all():
            raise PipelineError(f"{what}: every value of the {side} sample is missing; there is "
                                "no distribution to compare.")


def check_count_sides(reference: np.ndarray, actual: np.ndarray, what: str) -> None:
    """:func:`check_stability_sides` on counts per bin whose last bin counts missing values."""
    for side, counts in (("reference", reference), ("actual", actual)):
        if counts.sum() == 0:
            raise PipelineError(f"{what}: the {side} sample is empty; compare samples with rows.")
        if counts[:-1].sum() == 0:
            raise PipelineError(f"{what}: every value of the {side} sample is missing; there is "
                                "no distribution to compare.")


def category_labels(values: pd.Series) -> pd.Series:
    """The category CSI counts for each value: its text, missing values '<missing>'."""
    return values.astype("object").fillna(MISSING_CATEGORY).astype(str)


def aligned_category_counts(reference: dict[str, float], actual: dict[str, float]
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Counts per category of either (sorted), from category -> count of each side."""
    categories = sorted(set(reference) | set(actual))
    return (np.array([reference.get(c, 0) for c in categories], dtype=float),
            np.array([actual.get(c, 0) for c in categories], dtype=float))


def category_counts(reference: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reference and actual counts per category of either (missing values a category)."""
    return aligned_category_counts(category_labels(reference).value_counts().to_dict(),
                                   category_labels(actual).value_counts().to_dict())


def categorical_stability_index(reference: pd.Series, actual: pd.Series) -> float:
    """PSI over the categories of a categorical feature (missing values as a category)."""
    return psi_from_counts(*category_counts(reference, actual))


def feature_counts(reference: pd.Series, actual: pd.Series, n_bins: int = DEFAULT_BINS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Reference and actual counts per bin, as CSI cuts them: numbers by the reference's
    quantiles with a bin for missing values, anything else by category. An empty side, or
    a numeric side with every value missing, is refused naming the characteristic."""
    what = f"CSI of {reference.name}"
    if not is_numeric(reference):
        if reference.empty or actual.empty:
            raise PipelineError(f"{what}: a sample is empty; compare samples with rows.")
        return category_counts(reference, actual)
    ref = reference.to_numpy(dtype=float)
    check_stability_sides(ref, pd.to_numeric(actual, errors="coerce").to_numpy(dtype=float),
                          what)
    edges = quantile_bin_edges(ref, n_bins)
    return binned_counts(ref, edges), binned_counts(actual.to_numpy(dtype=float), edges)


def is_numeric(series: pd.Series) -> bool:
    """Whether CSI cuts ``series`` into quantile bins (numbers, not booleans) rather than
    counting its categories."""
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def characteristic_stability(
    reference: pd.DataFrame, actual: pd.DataFrame, features: list[str], n_bins: int = DEFAULT_BINS
) -> dict[str, float]:
    """CSI per feature: PSI of its distribution, quantile bins (numeric) or categories."""
    return {name: psi_from_counts(*feature_counts(reference[name], actual[name], n_bins))
            for name in features}


def metric_key(name: str) -> str:
    """``name`` made safe for an MLflow metric key (letters, digits, _ - . / space)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(name))


def stability_metrics(
    reference_pd: np.ndarray,
    actual_pd: np.ndarray,
    reference: pd.DataFrame,
    actual: pd.DataFrame,
    features: list[str],
) -> dict[str, float]:
    """``psi`` of the PDs, ``csi_<feature>`` per feature and ``csi_max`` (reference -> actual)."""
    result = {"psi": population_stability_index(reference_pd, actual_pd)}
    csi = characteristic_stability(reference, actual, features)
    result.update({f"csi_{metric_key(k)}": v for k, v in csi.items()})
    if csi:
        result["csi_max"] = max(csi.values())
    return result
