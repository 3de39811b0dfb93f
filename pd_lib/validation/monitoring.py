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
from pd_lib.errors import PipelineError
from pd_lib.validation import lights as lights_module
from pd_lib.validation import master_scale
from pd_lib.validation.calibration import calibration_in_the_large_from_means
from pd_lib.validation.discrimination import (
    SCORE_BINS,
    histogram_discrimination,
    roc_auc,
    roc_auc_standard_error,
    score_histogram,
)
from pd_lib.validation.inputs import check_flags, check_pds, floor_pds
from pd_lib.validation.lights import AMBER, GREEN, GREY, RED, Light
from pd_lib.validation.stability import (
    aligned_category_counts,
    binned_counts,
    category_labels,
    check_count_sides,
    feature_counts,
    is_numeric,
    psi_from_counts,
    quantile_bin_edges,
)

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
    return stability_row_from_counts(name, *feature_counts(reference, actual))


def stability_row_from_counts(name: str, ref_counts: np.ndarray, act_counts: np.ndarray
                              ) -> dict[str, object]:
    """:func:`stability_row` from the two samples' counts per bin (the sample sizes are
    their sums)."""
    ref_counts = np.asarray(ref_counts, dtype=float)
    act_counts = np.asarray(act_counts, dtype=float)
    n_reference, n_actual = int(ref_counts.sum()), int(act_counts.sum())
    bins = int(np.sum((ref_counts > 0) | (act_counts > 0)))
    value = psi_from_counts(ref_counts, act_counts)
    row: dict[str, object] = {"characteristic": name, "psi": value, "bins": bins}
    for level in MONITOR_PSI_LEVELS:
        row[f"critical_{level:.0%}"] = psi_critical_value(n_reference, n_actual, bins, level)
    row["pvalue"] = psi_pvalue(value, n_reference, n_actual, bins)
    return row


def stability_table(reference: pd.DataFrame, actual: pd.DataFrame, features: Sequence[str]
                    ) -> pd.DataFrame:
    """CSI per characteristic (reference -> actual), largest first, with its critical values,
    p-value and rule-of-thumb light."""
    return stability_table_from_rows([stability_row(f, reference[f], actual[f])
                                      for f in features])


def stability_table_from_rows(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """The stability table of :func:`stability_row` rows: light added, largest CSI first."""
    rule = MONITOR_LIGHT_THRESHOLDS["Largest CSI of a characteristic, development -> period"]
    table = pd.DataFrame(list(rows), columns=["characteristic", "psi", "bins",
                                              *[f"critical_{v:.0%}" for v in MONITOR_PSI_LEVELS],
                                              "pvalue"])
    table["light"] = [lights_module.colour_of(v, rule) for v in table["psi"]]
    return table.sort_values("psi", ascending=False, ignore_index=True)


def shifted_characteristics(table: pd.DataFrame) -> list[str]:
    """The characteristics whose CSI light is amber or red, largest CSI first."""
    return table.loc[table["light"].isin((AMBER, RED)), "characteristic"].tolist()


def grade_counts(pd_values: np.ndarray, scale: Sequence[tuple[str, float]] = MASTER_SCALE
                 ) -> pd.Series:
    """Loans per grade of ``scale`` (empty grades 0), PDs floored as validation floors them."""
    grades = master_scale.assign_grades(floor_pds(pd_values), scale)
    names = [g for g, _ in scale]
    return pd.Series(grades).value_counts().reindex(names, fill_value=0)


def grade_psi(reference_pd: np.ndarray, actual_pd: np.ndarray) -> dict[str, float]:
    """PSI of the grade distribution, with the grades used and its critical values."""
    return grade_psi_from_counts(grade_counts(reference_pd).to_numpy(dtype=float),
                                 grade_counts(actual_pd).to_numpy(dtype=float))


def grade_psi_from_counts(ref: np.ndarray, act: np.ndarray) -> dict[str, float]:
    """:func:`grade_psi` from loans per grade of each sample."""
    ref, act = np.asarray(ref, dtype=float), np.asarray(act, dtype=float)
    n_ref, n_act = int(ref.sum()), int(act.sum())
    bins = int(np.sum((ref > 0) | (act > 0)))
    value = psi_from_counts(ref, act)
    return {"grade_psi": value,
            "grade_psi_pvalue": psi_pvalue(value, n_ref, n_act, bins),
            **{f"grade_psi_critical_{level * 100:.0f}": psi_critical_value(
                n_ref, n_act, bins, level) for level in MONITOR_PSI_LEVELS}}


def pd_psi(reference_pd: np.ndarray, actual_pd: np.ndarray) -> dict[str, float]:
    """PSI of the PD (reference deciles), with its critical values and p-value."""
    return pd_psi_from_row(stability_row(PD_COL, pd.Series(reference_pd), pd.Series(actual_pd)))


def pd_psi_from_row(row: Mapping[str, object]) -> dict[str, float]:
    """The PD's PSI metrics from its :func:`stability_row`."""
    return {"psi": float(row["psi"]), "psi_pvalue": float(row["pvalue"]),
            **{f"psi_critical_{level * 100:.0f}": float(row[f"critical_{level:.0%}"])
               for level in MONITOR_PSI_LEVELS}}


# --- discrimination --------------------------------------------------------------------------


def auc_drop_test(y_reference: np.ndarray, pd_reference: np.ndarray, y_actual: np.ndarray,
                  pd_actual: np.ndarray) -> dict[str, float]:
    """AUC of development and period, the drop (development - period), its standard error
    from the two independent samples' DeLong variances, and the one-sided p-value of
    H0 "no drop" (small = the model ranks worse now). NaN where an AUC is not defined."""
    return auc_drop(roc_auc(y_reference, pd_reference),
                    roc_auc_standard_error(y_reference, pd_reference),
                    roc_auc(y_actual, pd_actual),
                    roc_auc_standard_error(y_actual, pd_actual))


def auc_drop(auc_ref: float, se_ref: float, auc: float, se: float) -> dict[str, float]:
    """:func:`auc_drop_test` from the two AUCs and their DeLong standard errors."""
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
    floored = floor_pds(check_pds(p))
    return calibration_from_counts(master_scale.grade_sums(check_flags(y), floored))


def calibration_from_counts(sums: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """:func:`calibration_metrics` from per-grade ``count``, ``defaults`` and ``pd_sum``
    (floored PDs, :func:`pd_lib.validation.master_scale.grade_sums`)."""
    table = master_scale.grade_table_from_counts(sums)
    n, d = int(sums["count"].sum()), int(sums["defaults"].sum())
    mean_pd = float(sums["pd_sum"].sum()) / n
    result = {**master_scale.master_scale_metrics_from_counts(table, d, n, mean_pd),
              **calibration_in_the_large_from_means(mean_pd, d / n),
              "binomial_pvalue_portfolio": master_scale.binomial_pvalue(d, n, mean_pd)}
    return result, table


# --- per vintage -----------------------------------------------------------------------------

VINTAGE_COLUMNS = ["month", "loans", "mean_pd", "observed_default_rate", "psi"]


def vintage_table(period: pd.DataFrame, reference_pd: np.ndarray) -> pd.DataFrame:
    """Per origination month: loans, mean PD, observed default rate (NaN without outcomes)
    and the PSI of its PDs from development. Empty without an origination date."""
    edges = quantile_bin_edges(reference_pd)
    return vintage_table_from_counts(vintage_sums(period, edges),
                                     binned_counts(reference_pd, edges))


def pd_bin_columns(edges: np.ndarray) -> list[str]:
    """Names of the counts per reference PD bin (the last one for missing PDs)."""
    return [f"bin_{i}" for i in range(edges.size + 2)]


def vintage_sums(period: pd.DataFrame, edges: np.ndarray) -> pd.DataFrame | None:
    """Per origination month (text YYYY-MM, sorted): ``loans``, ``pd_sum``, ``defaults`` (NaN
    without a default column) and the loans per reference PD bin; None without a date."""
    if DATE_COL not in period.columns:
        return None
    months = pd.to_datetime(period[DATE_COL]).dt.to_period("M").astype(str)
    rows = []
    for month, rows_of_month in period.groupby(months, sort=True):
        pds = rows_of_month[PD_COL].to_numpy(dtype=float)
        rows.append({"month": month, "loans": len(pds), "pd_sum": float(pds.sum()),
                     "defaults": float(rows_of_month[TARGET_COL].sum())
                     if TARGET_COL in rows_of_month.columns else float("nan"),
                     **dict(zip(pd_bin_columns(edges), binned_counts(pds, edges),
                                strict=True))})
    return pd.DataFrame(rows, columns=["month", "loans", "pd_sum", "defaults",
                                       *pd_bin_columns(edges)])


def vintage_table_from_counts(sums: pd.DataFrame | None, reference_counts: np.ndarray
                              ) -> pd.DataFrame:
    """:func:`vintage_table` from :func:`vintage_sums` and the development's loans per PD
    bin."""
    if sums is None:
        return pd.DataFrame(columns=VINTAGE_COLUMNS)
    bins = [c for c in sums.columns if c.startswith("bin_")]
    rows = [{"month": row["month"], "loans": int(row["loans"]),
             "mean_pd": float(row["pd_sum"]) / float(row["loans"]),
             "observed_default_rate": float(row["defaults"]) / float(row["loans"]),
             "psi": psi_from_counts(reference_counts, row[bins].to_numpy(dtype=float))}
            for _, row in sums.iterrows()]
    return pd.DataFrame(rows, columns=VINTAGE_COLUMNS)


# --- the period as counts ----------------------------------------------------------------------


@dataclass(frozen=True)
class CountPlan:
    """How the period is counted, fixed by the development sample: the reference PD's bin
    edges, each numeric characteristic's bin edges, the categorical characteristics."""

    pd_edges: np.ndarray
    numeric: dict[str, np.ndarray]
    categorical: tuple[str, ...]


def count_plan(reference_pd: np.ndarray, reference_features: pd.DataFrame,
               features: Sequence[str]) -> CountPlan:
    """The bins of :func:`pd_lib.validation.stability.feature_counts` for every characteristic
    and the PD, taken from development."""
    numeric = {f: quantile_bin_edges(reference_features[f].to_numpy(dtype=float))
               for f in features if is_numeric(reference_features[f])}
    return CountPlan(quantile_bin_edges(reference_pd), numeric,
                     tuple(f for f in features if f not in numeric))


@dataclass
class PeriodCounts:
    """Everything the monitoring statistics read of a period: sums and counts only (a few
    kilobytes plus the score histogram's non-empty bins), whichever engine counted them."""

    n_loans: int
    pd_sum: float
    floored_pd_sum: float
    pd_bins: np.ndarray                       # loans per reference PD bin (last: missing)
    grades: pd.DataFrame                      # master_scale.grade_sums of the floored PDs
    numeric: dict[str, np.ndarray]            # loans per bin (last: missing) of the plan
    categorical: dict[str, dict[str, float]]  # category -> loans
    vintages: pd.DataFrame | None             # vintage_sums
    has_outcomes: bool
    n_defaults: int = 0
    scores: pd.DataFrame | None = None        # score_bin, bad, good: the non-empty score bins


def sparse_histogram(bad: np.ndarray, good: np.ndarray) -> pd.DataFrame:
    """The non-empty bins of a score histogram: ``score_bin``, ``bad``, ``good``."""
    used = np.flatnonzero((bad > 0) | (good > 0))
    return pd.DataFrame({"score_bin": used.astype(np.int64), "bad": bad[used],
                         "good": good[used]})


def dense_histogram(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Defaulters and non-defaulters per score bin (every bin) from :func:`sparse_histogram`."""
    bad, good = np.zeros(SCORE_BINS), np.zeros(SCORE_BINS)
    bins = scores["score_bin"].to_numpy(dtype=np.int64)
    bad[bins], good[bins] = scores["bad"].to_numpy(float), scores["good"].to_numpy(float)
    return bad, good


def period_counts(period: pd.DataFrame, plan: CountPlan) -> PeriodCounts:
    """The counts of ``period`` (rows in pandas: ``pd``, the characteristics, optionally
    ``default`` and ``origination_date``); the Spark path computes the same on Spark."""
    p = check_pds(period[PD_COL].to_numpy())
    floored = floor_pds(p)
    has_outcomes = TARGET_COL in period.columns
    y = check_flags(period[TARGET_COL].to_numpy()) if has_outcomes else np.zeros(
        p.size, dtype=int)
    scores = sparse_histogram(*score_histogram(y, floored)) if has_outcomes else None
    return PeriodCounts(
        n_loans=int(p.size), pd_sum=float(p.sum()), floored_pd_sum=float(floored.sum()),
        pd_bins=binned_counts(p, plan.pd_edges),
        grades=master_scale.grade_sums(y, floored),
        numeric={f: binned_counts(period[f].to_numpy(dtype=float), edges)
                 for f, edges in plan.numeric.items()},
        categorical={f: {str(k): float(v) for k, v in
                         category_labels(period[f]).value_counts().items()}
                     for f in plan.categorical},
        vintages=vintage_sums(period.assign(**{PD_COL: p}), plan.pd_edges),
        has_outcomes=has_outcomes, n_defaults=int(y.sum()), scores=scores)


def characteristic_rows(reference_features: pd.DataFrame, counts: PeriodCounts,
                        plan: CountPlan) -> list[dict[str, object]]:
    """The stability rows of every characteristic: development counted here, the period's
    counts given; an empty side or one with every value missing is refused by name."""
    rows = []
    for name, edges in plan.numeric.items():
        ref = binned_counts(reference_features[name].to_numpy(dtype=float), edges)
        check_count_sides(ref, counts.numeric[name], f"CSI of {name}")
        rows.append(stability_row_from_counts(name, ref, counts.numeric[name]))
    for name in plan.categorical:
        ref = category_labels(reference_features[name]).value_counts().to_dict()
        if not ref or not counts.categorical[name]:
            raise PipelineError(f"CSI of {name}: a sample is empty; compare samples with rows.")
        rows.append(stability_row_from_counts(name, *aligned_category_counts(
            ref, counts.categorical[name])))
    return rows


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
    ``default`` column only stability is judged. The period is counted first
    (:func:`period_counts`), then judged from its counts (:func:`monitor_counts`)."""
    plan = count_plan(check_pds(reference[PD_COL].to_numpy()), reference_features,
                      features)
    return monitor_counts(reference, reference_features, period_counts(period, plan), plan,
                          thresholds)


def monitor_counts(reference: pd.DataFrame, reference_features: pd.DataFrame,
                   counts: PeriodCounts, plan: CountPlan,
                   thresholds: Mapping[str, Mapping] = MONITOR_LIGHT_THRESHOLDS) -> Monitoring:
    """:func:`monitor` from the period's counts (pandas or Spark counted them); development
    is counted here the same way. The AUCs (development and period) come from the score
    histogram (:func:`pd_lib.validation.discrimination.histogram_discrimination`)."""
    ref_pd = check_pds(reference[PD_COL].to_numpy())
    ref_pd_bins = binned_counts(ref_pd, plan.pd_edges)
    stability = stability_table_from_rows(characteristic_rows(reference_features, counts, plan))
    results: dict[str, float] = {
        "n_loans": float(counts.n_loans), "n_development": float(len(reference)),
        "mean_pd": counts.pd_sum / counts.n_loans, "development_mean_pd": float(ref_pd.mean()),
        **pd_psi_from_row(stability_row_from_counts(PD_COL, ref_pd_bins, counts.pd_bins)),
        **grade_psi_from_counts(grade_counts(ref_pd).to_numpy(dtype=float),
                                counts.grades["count"].to_numpy(dtype=float)),
        "csi_max": float(stability["psi"].max()) if len(stability) else float("nan"),
    }
    grades = heterogeneity = None
    if counts.has_outcomes:
        results["n_defaults"] = float(counts.n_defaults)
        period_auc = histogram_discrimination(*dense_histogram(counts.scores))
        results.update(period_auc)
        development = histogram_discrimination(*score_histogram(
            reference[TARGET_COL].to_numpy(), floor_pds(ref_pd)))
        results.update(auc_drop(development["roc_auc"], development["roc_auc_se"],
                                period_auc["roc_auc"], period_auc["roc_auc_se"]))
        calibration, grades = calibration_from_counts(counts.grades)
        results.update(calibration)
        heterogeneity = heterogeneity_table(grades)
        results["heterogeneity_pairs_not_distinct"] = float((~heterogeneity["distinct"]).sum())
    lights = lights_module.traffic_lights(results, thresholds)
    return Monitoring(metrics=results, lights=lights, status=overall_status(lights),
                      stability=stability,
                      vintages=vintage_table_from_counts(counts.vintages, ref_pd_bins),
                      has_outcomes=counts.has_outcomes, grades=grades,
                      heterogeneity=heterogeneity, shifted=shifted_characteristics(stability))
