"""The validation report: one self-contained HTML file per model run.

Plots are embedded as base64 PNG, so the file opens anywhere (mlflow ui's artifact view,
a browser, an e-mail attachment) without its neighbours.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pd_lib.config import (
    GATE_BLOCKING_CATEGORIES,
    HL_SUBSAMPLE_ALPHA,
    HL_SUBSAMPLE_LOANS,
    HL_SUBSAMPLES,
)
from pd_lib.modelling.blend import BLEND
from pd_lib.validation.calibration import (
    brier_score,
    calibration_slope_intercept,
    expected_calibration_error,
    logarithmic_loss,
)
from pd_lib.validation.discrimination import gini, roc_auc, roc_auc_interval
from pd_lib.validation.lights import Light, blocking_lights, light_counts, not_applied

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

FIGURE_CAPTIONS = {
    "roc_curve": "ROC curve: how well the PD ranks defaulters above non-defaulters.",
    "ks_curve": "KS curve: the PD distributions of defaulters and non-defaulters.",
    "calibration_curve": "Reliability: observed default rate against predicted PD per bin.",
    "pd_distribution": "PD distribution of defaulters and non-defaulters.",
    "grade_table": "Master scale: predicted vs observed default rate per grade.",
    "confusion_matrix": "Confusion matrix at the threshold parameter (0.5 by default).",
    "feature_importance": "Permutation importance: AUC lost when a feature is shuffled.",
    "roc_champion_vs_challenger": "ROC curves of both models on the challenger's holdout.",
    "calibration_champion_vs_challenger": "Reliability of both models on the same loans.",
    "vintages": "Per origination month: loans, mean PD against the observed default rate, and "
                "the PSI of the month's PDs from development.",
}

LIGHT_STYLE = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1150px; color: #222; line-height: 1.4; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px;
       margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
.nowrap { white-space: nowrap; }
.light { display: inline-block; width: 14px; height: 14px; border-radius: 7px;
         vertical-align: middle; margin-right: 6px; }
.summary { font-size: 16px; margin: 12px 0; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; width: 540px; } figure.wide { width: 100%; }
figure img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; }
.cover { border: 2px solid #333; padding: 8px 16px; margin: 12px 0 20px; background: #fafafa; }
.meta td { text-align: left; } .note { font-size: 13px; color: #555; }
.red-row td { background: #fdecea; }
td.flag { background: #fdecea; color: #c62828; font-weight: bold; }
"""


FIGURE_DPI = 100


def figure_png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes: rendered once, logged as a plot and embedded in the report."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    return buffer.getvalue()


def render_figures(figures: Mapping[str, Figure]) -> dict[str, bytes]:
    """Each figure as PNG bytes, closing it (matplotlib keeps open figures alive)."""
    import matplotlib.pyplot as plt

    pngs = {}
    for name, figure in figures.items():
        pngs[name] = figure_png(figure)
        plt.close(figure)
    return pngs


def figure_to_base64(figure: Figure | bytes) -> str:
    """PNG bytes of ``figure`` (or the bytes themselves) as a base64 string."""
    png = figure if isinstance(figure, bytes) else figure_png(figure)
    return base64.b64encode(png).decode("ascii")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "not defined"
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"
    return html.escape(str(value))


def _light_dot(colour: str) -> str:
    return (f'<span class="light" style="background:{LIGHT_STYLE.get(colour, "#999")}">'
            f'</span>{colour}')


def set_aside_html(metrics: Mapping[str, float]) -> str:
    """A note naming the checks whose rule is for other sample sizes, and why."""
    items = "".join(f"<li>{html.escape(check)} = {_fmt(value)}: not judged ({html.escape(why)})"
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
        f'<td>{_fmt(li.value)}</td><td class="text nowrap">{_light_dot(li.colour)}</td>'
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
            cells = "".join(f"<td>{_fmt(metrics[prefix + key])}</td>" if prefix + key in
                            metrics else "<td>n/a</td>" for _, prefix in shown)
            body += (f'<tr><td class="text">{html.escape(label)}</td>{cells}'
                     f'<td class="text note">{html.escape(hint)}</td></tr>')
        if body:
            parts.append(f'<h3>{html.escape(section)}</h3><table><tr><th class="text">Metric'
                         f'</th>{header}<th class="text">How to read</th></tr>{body}</table>')
    return "".join(parts)


def table_html(
    frame: pd.DataFrame,
    percent: tuple[str, ...] = (),
    flag: Callable[[str, object], bool] | None = None,
) -> str:
    """A DataFrame as an HTML table: ``percent`` columns as percentages, cells for which
    ``flag(column, value)`` is true highlighted."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = ""
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            css = ' class="flag"' if flag is not None and flag(column, value) else ""
            if isinstance(value, str):
                css = ' class="text flag"' if "flag" in css else ' class="text"'
                cells.append(f"<td{css}>{html.escape(value)}</td>")
            elif column in percent and isinstance(value, float) and not math.isnan(value):
                cells.append(f"<td{css}>{value:.2%}</td>")
            else:
                cells.append(f"<td{css}>{_fmt(value)}</td>")
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


GRADE_HEADERS = {"grade": "Grade", "pd_lower": "PD from", "pd_upper": "PD to", "count": "Loans",
                 "share": "Share", "defaults": "Defaults", "mean_pd": "Mean PD",
                 "observed_default_rate": "Observed default rate",
                 "jeffreys_pvalue": "Jeffreys p-value",
                 "jeffreys_pvalue_holm": "Jeffreys p-value, Holm-adjusted",
                 "jeffreys_light": "Jeffreys light", "binomial_pvalue": "Binomial p-value"}


def grade_table_html(table: pd.DataFrame, flag_below: float = 0.01) -> str:
    """The master-scale table, readable headers, p-values below ``flag_below`` and red
    per-grade Jeffreys lights in red."""
    percent = ("PD from", "PD to", "Share", "Mean PD", "Observed default rate")
    pvalues = (GRADE_HEADERS["jeffreys_pvalue"], GRADE_HEADERS["jeffreys_pvalue_holm"],
               GRADE_HEADERS["binomial_pvalue"])

    def too_low(column: str, value: object) -> bool:
        if column == GRADE_HEADERS["jeffreys_light"]:
            return value == "red"
        return column in pvalues and isinstance(value, float) and value < flag_below

    return table_html(table.rename(columns=GRADE_HEADERS), percent=percent, flag=too_low)


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


def key_value_rows(facts: Mapping[str, object]) -> str:
    """Table rows of a key/value block (a cover, a run's context), escaped."""
    return "".join(f"<tr><th class='text'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in facts.items())


def _figures_html(figures: Mapping[str, Figure | bytes], wide: bool = False) -> str:
    blocks = []
    for name, figure in figures.items():
        caption = FIGURE_CAPTIONS.get(name, name.replace("_", " "))
        css_class = ' class="wide"' if wide else ""
        source = f"data:image/png;base64,{figure_to_base64(figure)}"
        blocks.append(f'<figure{css_class}><img alt="{html.escape(name)}" src="{source}">'
                      f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return '<div class="figures">' + "".join(blocks) + "</div>"


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
        f"<p>Portfolio Jeffreys test p-value: <b>{_fmt(metrics.get('jeffreys_pvalue_portfolio', float('nan')))}"  # noqa: E501
        f"</b> (mean PD {_fmt(metrics.get('mean_pd', float('nan')))} vs observed "
        f"{_fmt(metrics.get('observed_default_rate', float('nan')))}); Herfindahl index of "
        f"grade shares: <b>{_fmt(metrics.get('herfindahl_index', float('nan')))}</b> "
        f"({_fmt(metrics.get('grades_used', float('nan')))} grades used; 1 = all loans in one "
        "grade); in the ECB's form, 1 + ln((CV&sup2; + 1) / K) / ln K over the K grades: "
        f"<b>{_fmt(metrics.get('herfindahl_index_ecb', float('nan')))}</b> (0 = even spread, "
        "1 = one grade).</p>"
        f"<p>Per-grade Jeffreys lights: <b>{_fmt(metrics.get('jeffreys_grades_red', 0.0))} "
        f"red</b>, {_fmt(metrics.get('jeffreys_grades_amber', 0.0))} amber (p &lt; 0.01 red, "
        "&lt; 0.05 amber); across the grades (Holm), "
        f"<b>{_fmt(metrics.get('jeffreys_grades_red_holm', 0.0))}</b> red, smallest adjusted "
        f"p-value {_fmt(metrics.get('jeffreys_pvalue_grades_holm', float('nan')))} (the "
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
{_figures_html(grade_figure, wide=True)}
<h2 id="plots">Plots (holdout)</h2>
{_figures_html(other_figures)}
<h2 id="stability">Stability per feature (CSI)</h2>
{table_html(csi_table(metrics))}
</body></html>
"""


CALIBRATION_ROWS = (("slope", "Calibration slope", "1 ideal"),
                    ("ece", "Expected calibration error", "lower is better"),
                    ("log_loss", "Log loss", "lower is better"))


def model_html(calibration: Mapping[str, object], selection: pd.DataFrame | None = None,
               monotone_violations: Mapping[str, float] | None = None) -> str:
    """The report's model section: the calibration stage (chosen method, and slope, ECE and
    log loss of the out-of-fold PDs before and after it), the model=auto comparison table,
    and monotone constraints a linear model's coefficients contradict."""
    parts = ['<h2 id="model">Model</h2>']
    if selection is not None:
        chosen = selection.loc[selection["chosen"], "kind"].iloc[0]
        ties = ("go to the blend of all kinds, then to the simpler kind"
                if BLEND in set(selection["kind"]) else "go to the simpler kind")
        parts.append(f"<p>model=auto chose <b>{html.escape(str(chosen))}</b>: every kind "
                     "cross-validated on the training sample, judged by the log loss after the "
                     f"calibration it would get; near ties (within one standard error) {ties}."
                     "</p>")
        if chosen == BLEND:
            members = ", ".join(html.escape(str(k)) for k in selection["kind"] if k != chosen)
            parts.append("<p>The blend is the mean log-odds of every kind's calibrated PD "
                         f"({members}), recalibrated as one; each member is fitted on all "
                         "the training loans, and its reason codes are its members' averaged in "
                         "log-odds.</p>")
        parts.append(table_html(selection.drop(columns=["chosen"])))
    method = str(calibration.get("method", "none"))
    rows = int(float(calibration.get("rows", 0) or 0))
    if rows:
        table = pd.DataFrame([
            {"": label, "before (raw PDs)": calibration.get(f"{key}_before", float("nan")),
             "after": calibration.get(f"{key}_after", float("nan")), "how to read": note}
            for key, label, note in CALIBRATION_ROWS])
        tried = ", ".join(f"{m.removeprefix('cv_log_loss_')} {_fmt(v)}"
                          for m, v in calibration.items() if str(m).startswith("cv_log_loss_"))
        parts.append(f"<p>Calibration stage: <b>{html.escape(method)}</b>, chosen on "
                     f"{rows:,} out-of-fold PDs of the training sample by cross-validated log "
                     f"loss ({html.escape(tried)}); a method more complex than none wins only "
                     "by more than one standard error.</p>")
        parts.append(table_html(table))
    else:
        parts.append(f"<p>Calibration stage: <b>{html.escape(method)}</b> (a maximum-likelihood "
                     "fit needs none, or none was asked for).</p>")
    if monotone_violations:
        wrong = ", ".join(f"{html.escape(k)} ({_fmt(v)})" for k, v in monotone_violations.items())
        parts.append(f"<p class='flag'>Monotone constraints contradicted by the coefficients: "
                     f"{wrong}.</p>")
    return "\n".join(parts)


def side_by_side_metrics(y_true: np.ndarray, pds: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The gate's numbers for several PDs of the same loans, one column per model."""
    rows = {
        "ROC AUC": lambda p: roc_auc(y_true, p),
        "ROC AUC 95% interval": lambda p: "{:.4f} to {:.4f}".format(
            *roc_auc_interval(y_true, p)),
        "Gini": lambda p: gini(y_true, p),
        "Brier score": lambda p: brier_score(y_true, p),
        "Log loss": lambda p: logarithmic_loss(y_true, p),
        "Mean PD": lambda p: f"{float(np.mean(p)):.2%}",
        "Observed default rate": lambda p: f"{float(np.mean(y_true)):.2%}",
        "Calibration slope": lambda p: calibration_slope_intercept(y_true, p)[0],
        "Expected calibration error": lambda p: expected_calibration_error(y_true, p),
    }
    table = {"check": list(rows)}
    for label, scores in pds.items():
        table[label] = [formula(scores) for formula in rows.values()]
    return pd.DataFrame(table)


def comparison_report(context: Mapping[str, str], verdict: str, failures: list[str],
                      table: pd.DataFrame, figures: Mapping[str, Figure | bytes]) -> str:
    """The promote run's champion-versus-challenger page: what was compared, the verdict
    with every failed check, the gate's numbers side by side and both models' curves."""
    meta = key_value_rows(context)
    failed = ("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in failures) + "</ul>"
              if failures else "")
    title = "Champion versus challenger"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{CSS}</style></head><body>
<h1>{title}</h1>
<table class="meta">{meta}</table>
<p class="summary"><b>Verdict:</b> {html.escape(verdict)}</p>
{failed}
<h2 id="numbers">The gate's numbers on the challenger's holdout</h2>
{table_html(table)}
<p class="note">Both models score the same loans: the challenger's holdout. The challenger
passes when it has no red or grey blocking light and the comparison of its ROC AUC with the
champion's (DeLong's paired difference; rule, power and smallest detectable loss above) does
not refuse it or lack the evidence to decide.</p>
<h2 id="curves">Curves</h2>
{_figures_html(figures)}
</body></html>
"""


def scorecard_html(iv_ranking: pd.DataFrame, points: pd.DataFrame, scale: Mapping[str, float]
                   ) -> str:
    """The report's scorecard section: the points scale, every characteristic's IV and why
    it is in or out, and the points table."""
    kept = iv_ranking[iv_ranking["in_scorecard"]]
    parts = ['<h2 id="scorecard">Scorecard</h2>',
             f"<p>{len(kept)} characteristics of {len(iv_ranking)}: optimal bins with a "
             "monotone event rate (missing values in their own bin), selected by information "
             "value and WoE correlation, a logistic regression on the WoE whose every "
             "coefficient is negative (a riskier bin never earns more points), points on the "
             f"scale <b>{_fmt(scale['base_points'])} points at good:bad odds "
             f"{_fmt(scale['base_odds'])}, {_fmt(scale['pdo'])} points to double the odds"
             "</b>. A borrower's reasons are the characteristics furthest below their "
             "maximum points.</p>", table_html(iv_ranking), table_html(points)]
    return "\n".join(parts)
