"""The validation report's model section: the calibration stage, model=auto's comparison
of the kinds and the monotone constraints a linear model's coefficients contradict."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from pd_lib.modelling.blend import BLEND
from pd_lib.validation.report_html import fmt, table_html

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
        tried = ", ".join(f"{m.removeprefix('cv_log_loss_')} {fmt(v)}"
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
        wrong = ", ".join(f"{html.escape(k)} ({fmt(v)})" for k, v in monotone_violations.items())
        parts.append(f"<p class='flag'>Monotone constraints contradicted by the coefficients: "
                     f"{wrong}.</p>")
    return "\n".join(parts)
