"""Monitoring and back-testing a PD model on a later period: pure statistics, no MLflow.

The development sample (the model version's holdout, with its PDs and flags, and its training
sample's characteristics) is compared with a later period (its PDs, characteristics and, when
known, default flags):

- stability: PSI of the PD and of the grade distribution, CSI per characteristic, each with
  the rule of thumb (config.MONITOR_LIGHT_THRESHOLDS) and the sampling-based critical values
  (:func:`psi_critical_value`);
- discrimination (with outcomes): the period's AUC with its DeLong interval and the test of its
  drop from development (:func:`auc_drop_test`);
- calibration (with outcomes): the master scale per grade and for the portfolio (mean PD vs
  observed rate, Jeffreys and binomial p-values, pd_lib.validation.master_scale), calibration
  in the large, heterogeneity of adjacent grades (:func:`heterogeneity_table`), concentration;
- per vintage (month): count, mean PD, observed rate, PSI from development.

Lights come from one block (config.MONITOR_LIGHT_THRESHOLDS); :func:`overall_status` is the
worst of them, grey (not computable) counting as amber.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from pd_lib.config import (
    DATE_COL,
    MASTER_SCALE,
    MONITOR_HETEROGENEITY_ALPHA,
    MONITOR_LIGHT_THRESHOLDS,
    MONITOR_PSI_LEVELS,
    PD_COL,
    TARGET_COL,
)
from pd_lib.validation import lights as lights_module
from pd_lib.validation import master_scale, metrics
from pd_lib.validation.lights import AMBER, GREEN, GREY, RED, Light
from pd_lib.validation.metrics import psi_from_counts

STATUS_ORDER = (GREEN, AMBER, RED)


# --- stability -------------------------------------------------------------------------------


def psi_critical_value(n_reference: int, n_actual: int, bins: int, level: float) -> float:
    """The PSI that two samples of ``n_reference`` and ``n_actual`` from one population exceed
    with probability 1 - ``level``: (1/M + 1/N) * chi2(B - 1) quantile (Yurdakul & Naranjo
    2020, the multinomial approximation PDtoolkit's psi uses)."""
    if bins < 2:
        return float("nan")
    return float((1.0 / n_reference + 1.0 / n_actual) * stats.chi2.ppf(level, bins - 1))


def psi_pvalue(psi: float, n_reference: int, n_actual: int, bins: int) -> float:
    """P(PSI >= ``psi``) for two samples of one population (the same approximation)."""
    if bins < 2:
        return float("nan")
    return float(stats.chi2.sf(psi / (1.0 / n_reference + 1.0 / n_actual), bins - 1))


def stability_row(name: str, reference: pd.Series, actual: pd.Series) -> dict[str, object]:
    """One row of the stability table: PSI, bins used, critical values and p-value."""
    ref_counts, act_counts = metrics.feature_counts(reference, actual)
    bins = int(np.sum((ref_counts > 0) | (act_counts > 0)))
    value = psi_from_counts(ref_counts, act_counts)
    row: dict[str, object] = {"characteristic": name, "psi": value, "bins": bins}
    for level in MONITOR_PSI_LEVELS:
        row[f"critical_{level:.0%}"] = psi_critical_value(len(reference), len(actual), bins,
                                                          level)
    row["pvalue"] = psi_pvalue(value, len(reference), len(actual), bins)
    return row


def stability_table(reference: pd.DataFrame, actual: pd.DataFrame, features: Sequence[str]
                    ) -> pd.DataFrame:
    """CSI per characteristic (reference -> actual), largest first, with its critical values,
    p-value and rule-of-thumb light."""
    rule = MONITOR_LIGHT_THRESHOLDS["Largest CSI of a characteristic, development -> period"]
    table = pd.DataFrame([stability_row(f, reference[f], actual[f]) for f in features])
    table["light"] = [lights_module.colour_of(v, rule) for v in table["psi"]]
    return table.sort_values("psi", ascending=False, ignore_index=True)


def shifted_characteristics(table: pd.DataFrame) -> list[str]:
    """The characteristics whose CSI light is amber or red, largest CSI first."""
    return table.loc[table["light"].isin((AMBER, RED)), "characteristic"].tolist()


def grade_counts(pd_values: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE
                 ) -> pd.Series:
    """Loans per grade of ``scale`` (empty grades 0), PDs floored as validation floors them."""
    grades = master_scale.assign_grades(metrics.floor_pds(pd_values), scale)
    names = [g for g, _ in scale]
    return pd.Series(grades).value_counts().reindex(names, fill_value=0)


def grade_psi(reference_pd: np.ndarray, actual_pd: np.ndarray) -> dict[str, float]:
    """PSI of the grade distribution, with the grades used and its critical values."""
    ref = grade_counts(reference_pd).to_numpy(dtype=float)
    act = grade_counts(actual_pd).to_numpy(dtype=float)
    bins = int(np.sum((ref > 0) | (act > 0)))
    value = psi_from_counts(ref, act)
    return {"grade_psi": value,
            "grade_psi_pvalue": psi_pvalue(value, len(reference_pd), len(actual_pd), bins),
            **{f"grade_psi_critical_{level * 100:.0f}": psi_critical_value(
                len(reference_pd), len(actual_pd), bins, level) for level in MONITOR_PSI_LEVELS}}


def pd_psi(reference_pd: np.ndarray, actual_pd: np.ndarray) -> dict[str, float]:
    """PSI of the PD (reference deciles), with its critical values and p-value."""
    row = stability_row(PD_COL, pd.Series(reference_pd), pd.Series(actual_pd))
    return {"psi": float(row["psi"]), "psi_pvalue": float(row["pvalue"]),
            **{f"psi_critical_{level * 100:.0f}": float(row[f"critical_{level:.0%}"])
               for level in MONITOR_PSI_LEVELS}}


# --- discrimination --------------------------------------------------------------------------


def auc_drop_test(y_reference: np.ndarray, pd_reference: np.ndarray, y_actual: np.ndarray,
                  pd_actual: np.ndarray) -> dict[str, float]:
    """AUC of development and period, the drop (development - period), its standard error
    from the two independent samples' DeLong variances, and the one-sided p-value of
    H0 "no drop" (small = the model ranks worse now). NaN where an AUC is not defined."""
    auc_ref, auc = metrics.roc_auc(y_reference, pd_reference), metrics.roc_auc(y_actual,
                                                                                 pd_actual)
    se_ref = metrics.roc_auc_standard_error(y_reference, pd_reference)
    se = metrics.roc_auc_standard_error(y_actual, pd_actual)
    drop, drop_se = auc_ref - auc, float(np.hypot(se_ref, se))
    pvalue = float(stats.norm.sf(drop / drop_se)) if drop_se > 0 else float("nan")
    return {"development_roc_auc": auc_ref, "development_roc_auc_se": se_ref,
            "roc_auc_drop": drop, "roc_auc_drop_se": drop_se, "roc_auc_drop_pvalue": pvalue}


# --- calibration -----------------------------------------------------------------------------


def two_proportion_pvalue(d1: int, n1: int, d2: int, n2: int) -> float:
    """One-sided pooled z-test of rate 1 < rate 2 (d defaults among n loans each); NaN when
    either is empty or the pooled rate is 0 or 1."""
    if n1 == 0 or n2 == 0:
        return float("nan")
    pooled = (d1 + d2) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0:
        return float("nan")
    return float(stats.norm.cdf((d1 / n1 - d2 / n2) / se))


def heterogeneity_table(grades: pd.DataFrame, alpha: float = MONITOR_HETEROGENEITY_ALPHA
                        ) -> pd.DataFrame:
    """Adjacent non-empty grades of a master-scale table: their observed default rates and
    the one-sided test that the better grade defaults less (PDtoolkit's heterogeneity);
    ``distinct`` is False where p >= ``alpha``."""
    used = grades[grades["count"] > 0].reset_index(drop=True)
    rows = []
    for low, high in zip(used.iloc[:-1].itertuples(), used.iloc[1:].itertuples(), strict=True):
        p = two_proportion_pvalue(int(low.defaults), int(low.count), int(high.defaults),
                                  int(high.count))
        rows.append({"grades": f"{low.grade} vs {high.grade}",
                     "default_rate_better": low.observed_default_rate,
                     "default_rate_worse": high.observed_default_rate,
                     "pvalue": p, "distinct": bool(p < alpha)})
    return pd.DataFrame(rows, columns=["grades", "default_rate_better", "default_rate_worse",
                                       "pvalue", "distinct"])


def calibration_metrics(y: np.ndarray, p: np.ndarray) -> tuple[dict[str, float], pd.DataFrame]:
    """The period's master-scale metrics (Jeffreys per grade and portfolio, Herfindahl),
    portfolio binomial p-value and calibration in the large; with the grade table."""
    table = master_scale.grade_table(y, p)
    floored = metrics.floor_pds(p)
    result = {**master_scale.master_scale_metrics(table, y, p),
              **metrics.calibration_in_the_large(y, floored),
              "binomial_pvalue_portfolio": master_scale.binomial_pvalue(
                  int(y.sum()), int(y.size), float(floored.mean()))}
    return result, table


# --- per vintage -----------------------------------------------------------------------------


def vintage_table(period: pd.DataFrame, reference_pd: np.ndarray) -> pd.DataFrame:
    """Per origination month: loans, mean PD, observed default rate (NaN without outcomes)
    and the PSI of its PDs from development. Empty without an origination date."""
    if DATE_COL not in period.columns:
        return pd.DataFrame(columns=["month", "loans", "mean_pd", "observed_default_rate",
                                     "psi"])
    months = pd.to_datetime(period[DATE_COL]).dt.to_period("M").astype(str)
    edges = metrics.quantile_bin_edges(reference_pd)
    ref_counts = metrics.binned_counts(reference_pd, edges)
    rows = []
    for month, rows_of_month in period.groupby(months, sort=True):
        pds = rows_of_month[PD_COL].to_numpy(dtype=float)
        rows.append({
            "month": month, "loans": len(pds), "mean_pd": float(pds.mean()),
            "observed_default_rate": float(rows_of_month[TARGET_COL].mean())
            if TARGET_COL in rows_of_month.columns else float("nan"),
            "psi": psi_from_counts(ref_counts, metrics.binned_counts(pds, edges)),
        })
    return pd.DataFrame(rows)


# --- all together ----------------------------------------------------------------------------


def overall_status(lights: Sequence[Light]) -> str:
    """green, amber or red: the worst light; grey (not computable) counts as amber."""
    worst = 0
    for light in lights:
        colour = AMBER if light.colour == GREY else light.colour
        worst = max(worst, STATUS_ORDER.index(colour))
    return STATUS_ORDER[worst]


@dataclass
class Monitoring:
    """Everything monitoring found on one period: metrics by name, lights, overall status
    and the tables of the report."""

    metrics: dict[str, float]
    lights: list[Light]
    status: str
    stability: pd.DataFrame
    vintages: pd.DataFrame
    has_outcomes: bool
    grades: pd.DataFrame | None = None
    heterogeneity: pd.DataFrame | None = None
    shifted: list[str] = field(default_factory=list)


def monitor(reference: pd.DataFrame, reference_features: pd.DataFrame, period: pd.DataFrame,
            features: Sequence[str],
            thresholds: Mapping[str, Mapping] = MONITOR_LIGHT_THRESHOLDS) -> Monitoring:
    """Judge ``period`` (features, ``pd``, optionally ``default`` and ``origination_date``)
    against development: ``reference`` is the scored holdout (``pd``, ``default``),
    ``reference_features`` the sample the characteristics are compared with. Without a
    ``default`` column only stability is judged."""
    ref_pd = metrics.check_pds(reference[PD_COL].to_numpy())
    p = metrics.check_pds(period[PD_COL].to_numpy())
    stability = stability_table(reference_features, period, features)
    results: dict[str, float] = {
        "n_loans": float(len(period)), "n_development": float(len(reference)),
        "mean_pd": float(p.mean()), "development_mean_pd": float(ref_pd.mean()),
        **pd_psi(ref_pd, p), **grade_psi(ref_pd, p),
        "csi_max": float(stability["psi"].max()) if len(stability) else float("nan"),
    }
    has_outcomes = TARGET_COL in period.columns
    grades = heterogeneity = None
    if has_outcomes:
        y = metrics.check_flags(period[TARGET_COL].to_numpy())
        results["n_defaults"] = float(y.sum())
        results.update(metrics.discrimination_metrics(y, metrics.floor_pds(p)))
        results.update(auc_drop_test(reference[TARGET_COL].to_numpy(),
                                     metrics.floor_pds(ref_pd), y, metrics.floor_pds(p)))
        calibration, grades = calibration_metrics(y, p)
        results.update(calibration)
        heterogeneity = heterogeneity_table(grades)
        results["heterogeneity_pairs_not_distinct"] = float((~heterogeneity["distinct"]).sum())
    lights = lights_module.traffic_lights(results, thresholds)
    return Monitoring(metrics=results, lights=lights, status=overall_status(lights),
                      stability=stability, vintages=vintage_table(period, ref_pd),
                      has_outcomes=has_outcomes, grades=grades, heterogeneity=heterogeneity,
                      shifted=shifted_characteristics(stability))
