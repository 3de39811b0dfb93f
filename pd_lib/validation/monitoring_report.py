"""The monitoring report: one self-contained HTML page per monitored period, with a cover
(model, version, periods compared, sizes), the conclusion first, then the evidence."""

from __future__ import annotations

import html
from collections.abc import Mapping

from pd_lib.config import MONITOR_PSI_LEVELS
from pd_lib.validation.lights import RED
from pd_lib.validation.monitoring import Monitoring
from pd_lib.validation.report_html import (
    CSS,
    LIGHT_STYLE,
    figures_html,
    fmt,
    grade_table_html,
    key_value_rows,
    light_dot,
    table_html,
)

VINTAGE_HEADERS = {"month": "Month", "loans": "Loans", "mean_pd": "Mean PD",
                   "observed_default_rate": "Observed default rate",
                   "psi": "PSI of the PD from development"}


def conclusion_html(result: Monitoring) -> str:
    """The verdict in words: status, what is red or amber and why, the shifted
    characteristics by name."""
    m = result.metrics
    lines = []
    for light in result.lights:
        if light.colour in ("red", "amber", "grey"):
            lines.append(f"{light_dot(light.colour)} {html.escape(light.category)}: "
                         f"{html.escape(light.check)} = {fmt(light.value)} "
                         f"({html.escape(light.thresholds)})")
    if result.shifted:
        named = ", ".join(
            f"<b>{html.escape(r.characteristic)}</b> (CSI {fmt(float(r.psi))}, {r.light})"
            for r in result.stability.itertuples() if r.characteristic in result.shifted)
        lines.insert(0, f"Shifted characteristics: {named}.")
    if result.has_outcomes and m.get("calibration_in_the_large_relative", 0.0) < -0.10:
        lines.insert(0, f"PDs too low: mean PD {fmt(m['mean_pd'])} against an observed default "
                        f"rate of {fmt(m['observed_default_rate'])} "
                        f"({m['calibration_in_the_large_relative']:+.0%}).")
    if not result.has_outcomes:
        lines.append("Stability only: the period has no <code>default</code> column, so "
                     "discrimination and calibration were not judged.")
    items = "".join(f"<li>{line}</li>" for line in lines) or "<li>Every check is green.</li>"
    colour = LIGHT_STYLE[result.status]
    return (f'<div class="summary" style="border-left: 8px solid {colour}; padding-left: 12px">'
            f'<p>Status: <b>{light_dot(result.status)}</b></p><ul>{items}</ul></div>')


def monitor_lights_html(result: Monitoring) -> str:
    """The lights table of the monitoring checks."""
    rows = "".join(
        f'<tr class="{"red-row" if li.colour == RED else ""}"><td class="text">'
        f'{html.escape(li.check)}</td><td class="text">{html.escape(li.category)}</td>'
        f'<td>{fmt(li.value)}</td><td class="text nowrap">{light_dot(li.colour)}</td>'
        f'<td class="text">{html.escape(li.thresholds)}</td></tr>' for li in result.lights)
    return ('<table><tr><th class="text">Check</th><th class="text">Category</th><th>Value'
            '</th><th class="text">Light</th><th class="text">Thresholds</th></tr>'
            f"{rows}</table>")


def stability_html(result: Monitoring) -> str:
    """PSI of the PD and of the grades with their critical values, and the CSI table."""
    m = result.metrics
    levels = [f"{level * 100:.0f}" for level in MONITOR_PSI_LEVELS]
    head = "".join(f"<th>critical value {lv}%</th>" for lv in levels)
    rows = "".join(
        f'<tr><td class="text">{label}</td><td>{fmt(m[key])}</td>'
        + "".join(f"<td>{fmt(m[f'{key}_critical_{lv}'])}</td>" for lv in levels)
        + f"<td>{fmt(m[f'{key}_pvalue'])}</td></tr>"
        for key, label in (("psi", "PSI of the PD"), ("grade_psi", "PSI of the grades")))
    csi = result.stability.rename(columns={
        "psi": "CSI", "bins": "bins used", "pvalue": "p-value (no change)",
        **{f"critical_{level:.0%}": f"critical value {level:.0%}" for level in
           MONITOR_PSI_LEVELS}})
    return (f'<table><tr><th class="text">Statistic</th><th>Value</th>{head}'
            f"<th>p-value (no change)</th></tr>{rows}</table>"
            '<p class="note">Rule of thumb: below 0.10 stable, 0.10-0.25 some shift, above 0.25 '
            "shifted (the lights). Critical values: the PSI two samples of these sizes from one "
            "population exceed with 5% / 1% probability, (1/M + 1/N) &middot; "
            "&chi;&sup2;<sub>B-1</sub> quantile (Yurdakul &amp; Naranjo 2020); at large sizes "
            "they are tiny, so any real change is significant and the rule of thumb says "
            "whether it matters.</p>"
            "<h3>Per characteristic (CSI), development training sample -&gt; period</h3>"
            + table_html(csi, flag=lambda c, v: c == "light" and v == RED))


def discrimination_html(m: Mapping[str, float]) -> str:
    """AUC of the period with its interval, development's, and the test of the drop."""
    return (f"<p>ROC AUC of the period <b>{fmt(m['roc_auc'])}</b> (95% DeLong interval "
            f"{fmt(m['roc_auc_ci_lower'])}-{fmt(m['roc_auc_ci_upper'])}; Gini "
            f"{fmt(m['gini'])}); development (holdout) {fmt(m['development_roc_auc'])}. Drop "
            f"{fmt(m['roc_auc_drop'])} &plusmn; {fmt(m['roc_auc_drop_se'])} (SE of two "
            "independent DeLong variances); one-sided p-value of \"no drop\": "
            f"<b>{fmt(m['roc_auc_drop_pvalue'])}</b> (small = ranks worse than at "
            "development).</p>")


def calibration_html(result: Monitoring, figures: Mapping[str, bytes]) -> str:
    """Portfolio tests, the grade table and plot, heterogeneity of adjacent grades."""
    m = result.metrics
    heterogeneity = result.heterogeneity.rename(columns={
        "default_rate_better": "default rate, better grade",
        "default_rate_worse": "default rate, worse grade", "pvalue": "p-value"})
    return (f"<p>Portfolio: mean PD <b>{fmt(m['mean_pd'])}</b> against observed default rate "
            f"<b>{fmt(m['observed_default_rate'])}</b> (calibration in the large "
            f"{m['calibration_in_the_large_relative']:+.1%} of the observed rate); Jeffreys "
            f"p-value {fmt(m['jeffreys_pvalue_portfolio'])}, binomial p-value "
            f"{fmt(m['binomial_pvalue_portfolio'])} (small = PDs too low). Concentration: "
            f"Herfindahl index {fmt(m['herfindahl_index'])}, ECB form "
            f"{fmt(m['herfindahl_index_ecb'])} (0 even, 1 one grade).</p>"
            + grade_table_html(result.grades)
            + figures_html({k: v for k, v in figures.items() if k == "grade_table"}, wide=True)
            + "<h3>Heterogeneity of adjacent grades</h3>"
            + f"<p>{fmt(m['heterogeneity_pairs_not_distinct'])} adjacent pair(s) whose default "
              "rates do not differ significantly (one-sided two-proportion z-test, p &ge; "
              "0.05): the scale separates less than it claims there.</p>"
            + table_html(heterogeneity, percent=("default rate, better grade",
                                                 "default rate, worse grade"),
                         flag=lambda c, v: c == "distinct" and v is False))


def build_monitoring_report(cover: Mapping[str, str], result: Monitoring,
                            figures: Mapping[str, bytes]) -> str:
    """The whole page: cover, conclusion, lights, stability, discrimination and calibration
    (with outcomes), per vintage."""
    meta = key_value_rows(cover)
    outcome_sections = (
        "<h2>Discrimination</h2>" + discrimination_html(result.metrics)
        + "<h2>Calibration (back-test)</h2>" + calibration_html(result, figures)
        if result.has_outcomes else
        "<h2>Discrimination and calibration</h2><p><b>Not judged: stability only.</b> The "
        "period has no <code>default</code> column (outcomes not yet known); monitor it again "
        "once they are.</p>")
    vintages = result.vintages
    vintage_part = (table_html(vintages.rename(columns=VINTAGE_HEADERS),
                               percent=("Mean PD", "Observed default rate"))
                    + figures_html({k: v for k, v in figures.items() if k == "vintages"},
                                 wide=True)
                    if len(vintages) else "<p>The period has no origination_date.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PD model monitoring report</title>
<style>{CSS}</style></head><body>
<h1>PD model monitoring report</h1>
<table class="meta">{meta}</table>
<h2 id="conclusion">Conclusion</h2>
{conclusion_html(result)}
<h2 id="lights">Traffic lights</h2>
{monitor_lights_html(result)}
<p class="note">Thresholds: <code>MONITOR_LIGHT_THRESHOLDS</code> in pd_lib/config.py. The
status is the worst light; grey (not computable) counts as amber.</p>
<h2 id="stability">Stability</h2>
{stability_html(result)}
{outcome_sections}
<h2 id="vintages">Per vintage</h2>
{vintage_part}
</body></html>
"""


def cover_rows(model: str, version: str, development: str, period: str, result: Monitoring,
               period_months: str) -> dict[str, str]:
    """The cover's rows: what was compared with what, and how many loans."""
    m = result.metrics
    outcomes = (f"{m['n_defaults']:,.0f} defaults ({m['observed_default_rate']:.2%})"
                if result.has_outcomes else "none: stability only (no default column)")
    return {"Model": model, "Version": version, "Development sample": development,
            "Monitored period": period, "Period months": period_months,
            "Loans: development holdout / period":
                f"{m['n_development']:,.0f} / {m['n_loans']:,.0f}",
            "Outcomes in the period": outcomes}
