"""The validation layer: PD metrics (checked inputs, discrimination, decisions at a
threshold, calibration, stability, the oracle; metrics gathers them) and their intervals,
master scale, traffic lights, plots, the HTML reports (their shared blocks, the validation
page and its sections, the champion/challenger page and its side-by-side numbers),
evaluation of a fitted model and its figures, monitoring statistics, the champion/challenger
AUC comparison and the reproduction check.
No MLflow.

Its modules are listed in ``__all__`` (tests/unit/test_layers.py keeps the list current);
import them by name, e.g. ``from pd_lib.validation import auc_comparison``.
"""

__all__ = [
    "auc_comparison",
    "calibration",
    "comparison_report",
    "decisions",
    "discrimination",
    "evaluation",
    "figures",
    "gate_rules",
    "importance",
    "inputs",
    "lights",
    "master_scale",
    "metrics",
    "model_section",
    "monitoring",
    "monitoring_report",
    "oracle",
    "plots",
    "report",
    "report_html",
    "reproduction",
    "scorecard_section",
    "side_by_side",
    "stability",
]
