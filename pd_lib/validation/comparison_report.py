"""The promote run's champion-versus-challenger page: one self-contained HTML page with
the verdict, the gate's numbers side by side (from
:func:`pd_lib.validation.side_by_side.side_by_side_metrics`) and both models' curves."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from pd_lib.validation.report_html import CSS, figures_html, key_value_rows, table_html


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
{figures_html(figures)}
</body></html>
"""
