"""The figures of an evaluation, drawn from the data :func:`pd_lib.validation.evaluation.evaluate`
computed (the scored holdout, the master scale's grade table, the permutation importance):
computing and drawing are separate steps, and a caller that only needs the numbers draws
nothing."""

from __future__ import annotations

from matplotlib.figure import Figure

from pd_lib.config import PD_COL, TARGET_COL
from pd_lib.validation import plots
from pd_lib.validation.evaluation import Evaluation, true_pd


def evaluation_figures(evaluation: Evaluation, threshold: float) -> dict[str, Figure]:
    """The holdout's figures of an evaluation: ROC, confusion matrix at ``threshold``,
    calibration, KS, PD distribution, the grade table and the feature importance."""
    holdout = evaluation.holdout_scored
    y, pd_holdout = holdout[TARGET_COL].to_numpy(), holdout[PD_COL].to_numpy()
    oracle = true_pd(holdout)
    return {
        "roc_curve": plots.roc_curve_figure(y, pd_holdout, oracle),
        "confusion_matrix": plots.confusion_matrix_figure(y, pd_holdout, threshold),
        "calibration_curve": plots.calibration_curve_figure(y, pd_holdout, oracle_pd=oracle),
        "ks_curve": plots.ks_curve_figure(y, pd_holdout),
        "pd_distribution": plots.pd_distribution_figure(y, pd_holdout),
        "grade_table": plots.grade_table_figure(evaluation.grade_table),
        "feature_importance": plots.feature_importance_figure(evaluation.importance),
    }
