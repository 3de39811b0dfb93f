"""The validation report: one self-contained HTML page per model run (cover, traffic
lights, metrics, master scale, plots, stability per feature), built from the blocks of
:mod:`pd_lib.validation.report_html`; the model and scorecard sections come from
:mod:`pd_lib.validation.model_section` and :mod:`pd_lib.validation.scorecard_section`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from pd_lib.config import (
    GATE_BLOCKING_CATEGORIES,
    HL_SUBSAMPLE_ALPHA,
    HL_SUBSAMPLE_LOANS,
    HL_SUBSAMPLES,
)
from pd_lib.validation.lights import Light, blocking_lights, light_counts, not_applied
from pd_lib.validation.report_html import (
    CSS,
    figures_html,
    fmt,
    grade_table_html,
    key_value_rows,
    light_dot,
    table_html,
)

# (metric suffix, label, how to read it) per section; rows whose metric is absent are left out.
METRIC_SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "Discrimination": [
        ("roc_auc", "ROC AUC", "0.5 random, 1 perfect ranking"),
        ("roc_auc_ci_lower", "ROC AUC, 95% interval: lower", "DeLong"),
        ("roc_auc_ci_upper", "ROC AUC, 95% interval: upper", "DeLong"),
        ("gini", "Gini (2 AUC - 1)", "0 random, 1 perfect"),
        ("gini_ci_lower", "Gini, 95% interval: lower", "2 x AUC bound - 1"),
        ("gini_ci_upper", "Gini, 95% interval: upper", "2 x AUC bound - 1"),
        ("ks", "Kolmogorov-Smirnov statistic", "largest gap of the PD CDFs either way, 0 to 1"),
        ("ks_direction", "KS direction", "+1 defaulters at higher PDs; -1 ranking inverted"),
        ("perfect_separation", "Perfect separation", "1 = PDs separate the classes fully: "
         "no calibration slope exists"),
    ],
    "Decisions at the observed default rate": [
        ("decision_threshold_rate", "Cut: the training sample's default rate",
         "a loan whose PD is at least this is called a default"),
        ("accuracy_at_rate", "Accuracy", "share of correct labels"),
        ("precision_at_rate", "Precision", "predicted defaulters who defaulted"),
        ("recall_at_rate", "Recall", "defaulters predicted as such"),
        ("f1_at_rate", "F1", "harmonic mean of precision and recall"),
    ],
    "Decisions at the threshold parameter (0.5 by default, the tutorial's)": [
        ("accuracy", "Accuracy", "share of correct labels"),
        ("precision", "Precision", "predicted defaulters who defaulted; 0 when no PD "
         "reaches the cut, as at 0.5 with rare defaults"),
        ("recall", "Recall", "defaulters predicted as such"),
        ("f1", "F1", "harmonic mean of precision and recall"),
        ("true_negatives", "True negatives", "count"),
        ("false_positives", "False positives", "count"),
        ("false_negatives", "False negatives", "count"),
        ("true_positives", "True positives", "count"),
    ],
    "Calibration": [
        ("n_loans", "Loans", "count"),
        ("n_defaults", "Defaults", "count"),
        ("mean_pd", "Mean PD", "predicted default rate"),
        ("observed_default_rate", "Observed default rate", ""),
        ("calibration_in_the_large", "Calibration in the large", "mean PD - observed rate"),
        ("calibration_in_the_large_relative", "Calibration in the large, relative",
         "> 0 conservative (shown, not blocked), < 0 PDs too low"),
        ("calibration_slope", "Calibration slope", "1 ideal; < 1 PDs too extreme"),
        ("calibration_intercept", "Calibration intercept", "0 ideal"),
        ("brier_score", "Brier score", "lower is better"),
        ("log_loss", "Log loss", "lower is better"),
        ("expected_calibration_error", "Expected calibration error", "10 equal-count bins"),
        ("hosmer_lemeshow_stat", "Hosmer-Lemeshow statistic",
         "PD deciles, ties kept together, merged to >= 5 expected defaults and non-defaults"),
        ("hosmer_lemeshow_groups", "Hosmer-Lemeshow groups used", "= degrees of freedom"),
        ("hosmer_lemeshow_pvalue", "Hosmer-Lemeshow p-value", "small = PDs do not fit"),
        ("hosmer_lemeshow_subsample_reject_share", "Hosmer-Lemeshow, share of subsamples "
         "rejecting", f"{HL_SUBSAMPLES} random subsamples of min({HL_SUBSAMPLE_LOANS:,}, n/2) "
         f"loans with p < {HL_SUBSAMPLE_ALPHA:g}; ~{HL_SUBSAMPLE_ALPHA:g} when calibrated"),
    ],
    "Against the true PD (synthetic data only)": [
        ("oracle_roc_auc", "ROC AUC of the true PD", "the best any model can do"),
        ("roc_auc_gap_to_oracle", "AUC shortfall to the true PD", "0 = as good as the truth"),
        ("pd_mae_vs_true_pd", "Mean |PD - true PD|", ""),
        ("pd_bias_vs_true_pd", "Mean (PD - true PD)", "> 0 conservative"),
        ("calibration_slope_vs_true_pd", "Slope of logit(true PD) on logit(PD)",
         "1 = as spread as the truth, < 1 over-confident; no outcome noise"),
        ("oracle_calibration_slope", "Calibration slope of the true PD itself",
         "where a perfect model's slope lands on these outcomes"),
    ],
    "Stability": [
        ("psi", "PSI of the PD",
         "holdout: from train (in-sample PDs); out-of-time: from the holdout"),
        ("csi_max", "Largest CSI of a feature", "from train; per feature below"),
    ],
}

def set_aside_html(metrics: Mapping[str, float]) -> str:
    """A note naming the checks whose rule is for other sample sizes, and why."""
    items = "".join(f"<li>{html.escape(check)} = {fmt(value)}: not judged ({html.escape(why)})"
                    "</li>" for check, value, why in not_applied(metrics))
    return (f'<p class="note">Checks for other sample sizes:</p><ul class="note">{items}</ul>'
            if items else "")


def lights_section(lights: list[Light], metrics: Mapping[str, float] | None = None) -> str:
    """The traffic-light table, with a one-line verdict above it and, below, the checks left
    out at this sample size."""
    blocking = blocking_lights(lights)
    counts = {c: sum(li.colour == c for li in lights) for c in ("green", "amber", "red", "grey")}
    categories = " / ".join(GATE_BLOCKING_CATEGORIES)
    verdict = (f"<b>{len(blocking)} red or grey (not defined) light(s) in {categories} "
               "checks: the promotion gate will refuse this model.</b>" if blocking else
               f"No red or grey {categories} light: the gate's own checks pass.")
    rows = "".join(
        f'<tr class="{"red-row" if li in blocking else ""}"><td class="text">'
        f'{html.escape(li.check)}</td><td class="text">{html.escape(li.category)}</td>'
        f'<td>{fmt(li.value)}</td><td class="text nowrap">{light_dot(li.colour)}</td>'
        f'<td class="text">{html.escape(li.thresholds)}</td>'
        f'<td class="text">{html.escape(li.applies)}</td>'
        f'<td class="text">{"yes" if li.category in GATE_BLOCKING_CATEGORIES else "no"}</td></tr>'
        for li in lights
    )
    return (
        f'<p class="summary">{counts["green"]} green, {counts["amber"]} amber, '
        f'{counts["red"]} red, {counts["grey"]} grey. {verdict}</p>'
        '<table><tr><th class="text">Check</th><th class="text">Category</th><th>Value</th>'
        '<th class="text">Light</th><th class="text">Thresholds</th>'
        '<th class="text">Applies to this sample</th>'
        '<th class="text">Red blocks promotion</th></tr>' + rows + "</table>"
        + set_aside_html(metrics or {})
    )


def not_defined_html(not_defined: Mapping[str, str]) -> str:
    """A note listing the metrics that are not defined on their sample, and why."""
    if not not_defined:
        return ""
    items = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
                    for k, v in not_defined.items())
    return (f'<p class="note">Not defined (logged as NaN, shown as "not defined"):</p>'
            f'<ul class="note">{items}</ul>')


def conservatism_html(metrics: Mapping[str, float]) -> str:
    """A note when the mean PD is clearly above the default rate: conservative, not blocked."""
    gap = metrics.get("calibration_in_the_large_relative", float("nan"))
    if math.isnan(gap) or gap <= 0.10:
        return ""
    return (f'<p class="note">Conservatism: the mean PD is {gap:.0%} above the observed default '
            "rate. The calibration-in-the-large light is one-sided (PDs too low), so this is "
            "shown, not blocked; it overstates capital.</p>")


def metrics_section(metrics: Mapping[str, float]) -> str:
    """One table per section: holdout, train and (when present) out-of-time columns."""
    samples = [("Holdout", ""), ("Train", "train_")]
    if any(k.startswith("oot_") for k in metrics):
        samples.append(("Out-of-time", "oot_"))
    parts = []
    for section, rows in METRIC_SECTIONS.items():
        keys = [key for key, _, _ in rows if key in metrics]
        shown = [(name, prefix) for name, prefix in samples
                 if any(prefix + key in metrics for key in keys)]
        header = "".join(f"<th>{name}</th>" for name, _ in shown)
        body = ""
        for key, label, hint in rows:
            if key not in metrics:
                continue
            cells = "".join(f"<td>{fmt(metrics[prefix + key])}</td>" if prefix + key in
                            metrics else "<td>n/a</td>" for _, prefix in shown)
            body += (f'<tr><td class="text">{html.escape(label)}</td>{cells}'
                     f'<td class="text note">{html.escape(hint)}</td></tr>')
        if body:
            parts.append(f'<h3>{html.escape(section)}</h3><table><tr><th class="text">Metric'
                         f'</th>{header}<th class="text">How to read</th></tr>{body}</table>')
    return "".join(parts)


def csi_table(metrics: Mapping[str, float]) -> pd.DataFrame:
    """CSI per feature, train -> holdout (and -> out-of-time), largest first."""
    names = sorted(k[len("csi_"):] for k in metrics if k.startswith("csi_") and k != "csi_max")
    frame = pd.DataFrame({"feature": names,
                          "CSI train -> holdout": [metrics[f"csi_{n}"] for n in names]})
    if any(f"oot_csi_{n}" in metrics for n in names):
        frame["CSI train -> out-of-time"] = [metrics.get(f"oot_csi_{n}", float("nan"))
                                             for n in names]
    return frame.sort_values(frame.columns[-1], ascending=False, ignore_index=True)


def conclusion(lights: list[Light]) -> str:
    """One line: may this model be promoted as it stands, and why not."""
    blocking = blocking_lights(lights)
    counts = light_counts(lights)
    if not blocking:
        return (f"Passes the promotion gate's own lights ({counts}); promotion to Production "
                "still compares it with the champion on the same rows.")
    named = "; ".join(f"{li.colour} {li.category}: {li.check}" for li in blocking)
    return f"Would be refused by the promotion gate ({counts}): {named}."


def cover_html(cover: Mapping[str, str], lights: list[Light]) -> str:
    """The cover block: model, date, commit, data, and the one-line conclusion."""
    if not cover:
        return ""
    rows = key_value_rows(cover)
    return (f'<div class="cover"><table class="meta">{rows}</table>'
            f'<p class="summary"><b>Conclusion:</b> {html.escape(conclusion(lights))}</p>'
            "</div>")


def build_report(
    context: Mapping[str, str],
    metrics: Mapping[str, float],
    lights: list[Light],
    grade_table: pd.DataFrame,
    figures: Mapping[str, Figure | bytes],
    title: str = "PD model validation report",
    model_html: str = "",
    not_defined: Mapping[str, str] | None = None,
    cover: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML string; figures as matplotlib figures or PNG bytes;
    ``model_html`` is the model section, ``not_defined`` names the NaN metrics and why,
    ``cover`` the facts a validator reads first (model, date, commit, data, conclusion)."""
    meta = key_value_rows(context)
    grade_figure = {k: v for k, v in figures.items() if k == "grade_table"}
    other_figures = {k: v for k, v in figures.items() if k != "grade_table"}
    portfolio = (
        f"<p>Portfolio Jeffreys test p-value: <b>{fmt(metrics.get('jeffreys_pvalue_portfolio', float('nan')))}"  # noqa: E501
        f"</b> (mean PD {fmt(metrics.get('mean_pd', float('nan')))} vs observed "
        f"{fmt(metrics.get('observed_default_rate', float('nan')))}); Herfindahl index of "
        f"grade shares: <b>{fmt(metrics.get('herfindahl_index', float('nan')))}</b> "
        f"({fmt(metrics.get('grades_used', float('nan')))} grades used; 1 = all loans in one "
        "grade); in the ECB's form, 1 + ln((CV&sup2; + 1) / K) / ln K over the K grades: "
        f"<b>{fmt(metrics.get('herfindahl_index_ecb', float('nan')))}</b> (0 = even spread, "
        "1 = one grade).</p>"
        f"<p>Per-grade Jeffreys lights: <b>{fmt(metrics.get('jeffreys_grades_red', 0.0))} "
        f"red</b>, {fmt(metrics.get('jeffreys_grades_amber', 0.0))} amber (p &lt; 0.01 red, "
        "&lt; 0.05 amber); across the grades (Holm), "
        f"<b>{fmt(metrics.get('jeffreys_grades_red_holm', 0.0))}</b> red, smallest adjusted "
        f"p-value {fmt(metrics.get('jeffreys_pvalue_grades_holm', float('nan')))} (the "
        "traffic light above).</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
{cover_html(cover or {}, lights)}
<h2 id="run">Run and parameters</h2>
<table class="meta">{meta}</table>
<h2 id="lights">Traffic lights</h2>
{lights_section(lights, metrics)}
{conservatism_html(metrics)}
<p class="note">Thresholds are set in one place, <code>LIGHT_THRESHOLDS</code> in
pd_lib/config.py. A red light in a blocking category stops <code>promote</code> to Production
unless it is forced with a reason. The Hosmer-Lemeshow test, like any significance test,
rejects ever smaller misfits as the sample grows; above {HL_SUBSAMPLE_LOANS:,} loans its light
reads the share of {HL_SUBSAMPLES} random subsamples of min({HL_SUBSAMPLE_LOANS:,}, n/2) loans
with p &lt; {HL_SUBSAMPLE_ALPHA:g} instead of the full-sample p-value (Bartley 2014; Paul,
Pennell &amp; Lemeshow 2013). A grey light (metric not defined) in a blocking category blocks
too: a check that cannot be computed is not a pass.</p>
{model_html}
<h2 id="metrics">Metrics</h2>
{metrics_section(metrics)}
{not_defined_html(not_defined or {})}
<h2 id="master-scale">Master scale (holdout)</h2>
{portfolio}
{grade_table_html(grade_table)}
<p class="note">Jeffreys p-value: the Beta(D + 1/2, N - D + 1/2) posterior CDF at the grade's mean
PD (ECB IRB validation reporting); binomial p-value: P(X &ge; D), X ~ Binomial(N, mean PD).
Small values in either mean the grade's PD is too low for its defaults (red below 0.01).
A mean PD of exactly 0 always fails the Jeffreys test, defaults or not: no default rate lies
below 0, which is why regulators floor PDs (e.g. 0.03% in CRR Article 160).</p>
{figures_html(grade_figure, wide=True)}
<h2 id="plots">Plots (holdout)</h2>
{figures_html(other_figures)}
<h2 id="stability">Stability per feature (CSI)</h2>
{table_html(csi_table(metrics))}
</body></html>
"""
