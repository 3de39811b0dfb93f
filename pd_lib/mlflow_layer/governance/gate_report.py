"""The promote run's champion-versus-challenger page: the gate's numbers side by side, both
ROC curves and both calibration curves, and the verdict (passed, refused or forced)."""

from __future__ import annotations

import datetime

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion

from pd_lib.mlflow_layer.artifacts import log_pngs, run_uri
from pd_lib.mlflow_layer.governance.gate import GateResult
from pd_lib.validation.comparison_report import comparison_report
from pd_lib.validation.gate_rules import auc_rule
from pd_lib.validation.plots import calibration_curves_figure, roc_curves_figure
from pd_lib.validation.report_html import render_figures
from pd_lib.validation.side_by_side import side_by_side_metrics

COMPARISON_ARTIFACT = "report/champion_vs_challenger.html"


def verdict_line(challenger: ModelVersion, champion: ModelVersion | None, gate: GateResult,
                 force: bool, reason: str) -> str:
    """One sentence: what the gate decided, and what happens to the champion."""
    replacing = f", replacing version {champion.version}" if champion is not None else ""
    if not gate.failures:
        return f"passed: version {challenger.version} becomes champion{replacing}."
    if gate.undecided and not force:
        return (f"not decided (amber): not enough evidence on this holdout to compare version "
                f"{challenger.version} with the champion; the champion stays version "
                f"{champion.version} unless a validator overrides with force and a reason.")
    if force:
        return (f"failed {len(gate.failures)} check(s), overridden with force (reason: "
                f"{reason}): version {challenger.version} becomes champion{replacing}.")
    return (f"refused: version {challenger.version} failed {len(gate.failures)} check(s); "
            f"the champion stays{f' version {champion.version}' if champion else ' unset'}.")


def auc_summary(gate: GateResult) -> str:
    """The AUC comparison's numbers in one line for the page ("-" without a champion)."""
    auc = gate.auc
    if auc is None:
        return "-"
    return (f"{auc.decision}: difference {auc.difference:+.4f}, DeLong SE {auc.se:.4f}; at "
            f"this holdout size the right decision each way has power {auc.power:.0%}, and "
            f"the smallest loss detected with that power is {auc.smallest_detectable:.4f}")


def log_comparison_page(challenger: ModelVersion, champion: ModelVersion | None,
                        gate: GateResult, verdict: str) -> str:
    """Log the page (and its two figures and table) to the active run, if there is one;
    returns its URI ("" without an active run)."""
    active = mlflow.active_run()
    if active is None:
        return ""
    context = {
        "Model": challenger.name,
        "Challenger": f"version {challenger.version} (run {challenger.run_id})",
        "Champion": (f"version {champion.version} (run {champion.run_id})" if champion
                     else "none: the first champion is judged on its own lights"),
        "Date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Holdout rows": gate.comparison.get("gate.holdout_rows", "-"),
        "AUC rule": auc_rule(),
        "AUC comparison": auc_summary(gate),
        "Challenger's lights": gate.comparison.get("gate.lights", "-"),
    }
    figures, table = {}, pd.DataFrame({"check": ["no champion to compare with"]})
    if gate.outcomes is not None and champion is not None:
        pds = {f"Challenger v{challenger.version}": gate.challenger_pd,
               f"Champion v{champion.version}": gate.champion_pd}
        table = side_by_side_metrics(gate.outcomes, pds)
        figures = render_figures({
            "roc_champion_vs_challenger": roc_curves_figure(gate.outcomes, pds),
            "calibration_champion_vs_challenger": calibration_curves_figure(gate.outcomes, pds),
        })
        log_pngs(figures, "plots")
        mlflow.log_text(table.to_csv(index=False), "tables/champion_vs_challenger.csv")
    page = comparison_report(context, verdict, gate.failures, table, figures)
    mlflow.log_text(page, COMPARISON_ARTIFACT)
    return run_uri(active.info.run_id, COMPARISON_ARTIFACT)
