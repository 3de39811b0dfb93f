"""The HTML building blocks every report page of pd_lib shares: the style sheet, value
formatting, light dots, tables (any DataFrame, key/value rows, the master-scale table) and
figures rendered to PNG and embedded as base64.

Plots are embedded as base64 PNG, so a page opens anywhere (mlflow ui's artifact view,
a browser, an e-mail attachment) without its neighbours.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping

import pandas as pd
from matplotlib.figure import Figure

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


def fmt(value: object) -> str:
    """A value as report text: NaN as "not defined", whole floats with thousands separators,
    other floats to four places (four significant digits when tiny), anything else escaped."""
    if isinstance(value, float):
        if math.isnan(value):
            return "not defined"
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"
    return html.escape(str(value))


def light_dot(colour: str) -> str:
    """A traffic light's coloured dot followed by its colour's name."""
    return (f'<span class="light" style="background:{LIGHT_STYLE.get(colour, "#999")}">'
            f'</span>{colour}')


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
                cells.append(f"<td{css}>{fmt(value)}</td>")
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def key_value_rows(facts: Mapping[str, object]) -> str:
    """Table rows of a key/value block (a cover, a run's context), escaped."""
    return "".join(f"<tr><th class='text'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in facts.items())



def figures_html(figures: Mapping[str, Figure | bytes], wide: bool = False) -> str:
    """Figures (matplotlib or PNG bytes) as embedded images with their captions; ``wide``:
    each the page's full width."""
    blocks = []
    for name, figure in figures.items():
        caption = FIGURE_CAPTIONS.get(name, name.replace("_", " "))
        css_class = ' class="wide"' if wide else ""
        source = f"data:image/png;base64,{figure_to_base64(figure)}"
        blocks.append(f'<figure{css_class}><img alt="{html.escape(name)}" src="{source}">'
                      f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return '<div class="figures">' + "".join(blocks) + "</div>"


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
