"""The validation report's scorecard section: the points scale, each characteristic's
information value and the points table."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pd_lib.validation.report_html import fmt, table_html


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
             f"scale <b>{fmt(scale['base_points'])} points at good:bad odds "
             f"{fmt(scale['base_odds'])}, {fmt(scale['pdo'])} points to double the odds"
             "</b>. A borrower's reasons are the characteristics furthest below their "
             "maximum points.</p>", table_html(iv_ranking), table_html(points)]
    return "\n".join(parts)
