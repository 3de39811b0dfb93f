"""The champion gate: may a challenger version become champion?"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion

from pd_lib.config import (
    GATE_AUC_DETECT,
    GATE_AUC_POWER,
    GATE_BLOCKING_CATEGORIES,
    HOLDOUT_ARTIFACT,
    PD_COL,
    TARGET_COL,
)
from pd_lib.cores import reapply
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import read_parquet_artifact, run_uri
from pd_lib.mlflow_layer.scoring_model import model_inputs
from pd_lib.mlflow_layer.tracking import get_run
from pd_lib.validation.auc_comparison import (
    REFUSE,
    UNDECIDED,
    AucComparison,
    compare_aucs,
    largest_deciding_se,
)
from pd_lib.validation.lights import blocking_lights, traffic_lights
from pd_lib.validation.metrics import floor_pds


@dataclass
class GateResult:
    """Failed checks (empty when the challenger may become champion) and what was compared;
    with a champion, the holdout's outcomes and both models' PDs on it (for the report)."""

    failures: list[str]
    comparison: dict[str, str]
    outcomes: np.ndarray | None = None
    challenger_pd: np.ndarray | None = None
    champion_pd: np.ndarray | None = None
    auc: AucComparison | None = None

    @property
    def undecided(self) -> bool:
        """Whether the AUC comparison lacked evidence (amber) and nothing else failed."""
        return (self.auc is not None and self.auc.decision == UNDECIDED
                and len(self.failures) == 1)


def champion_gate(challenger: ModelVersion, champion: ModelVersion | None) -> GateResult:
    """Judge the challenger on its own traffic lights and against the champion.

    Fails, one line per check, when the challenger's run has a red or grey (not computable)
    light in config.GATE_BLOCKING_CATEGORIES (discrimination, calibration, stability), and
    when the comparison of its ROC AUC with the champion's on the challenger's holdout (the
    champion model scores those rows too) refuses it or finds not enough evidence either way
    (:mod:`pd_lib.validation.auc_comparison`). The first version (no champion) is judged on
    its lights alone.
    """
    failures, comparison = lights_check(challenger)
    if champion is None or str(champion.version) == str(challenger.version):
        comparison["gate"] = "no other champion"
        return GateResult(failures, comparison)
    holdout = read_parquet_artifact(
        run_uri(challenger.run_id, HOLDOUT_ARTIFACT), f"holdout of version {challenger.version}"
    )
    y = holdout[TARGET_COL].to_numpy()
    challenger_pd = floor_pds(holdout[PD_COL].to_numpy())
    comparison.update({
        "gate.holdout_rows": str(len(holdout)),
        "gate.champion_version": champion.version,
        "gate.auc_rule": auc_rule(),
    })
    if same_model(challenger, champion):
        # One logged model behind both versions (main registering the same run again): the
        # champion's PDs on these rows are the challenger's, scored by that very model.
        comparison["gate.champion_same_model"] = challenger.source
        champion_pd = challenger_pd
    else:
        try:
            champion_pd = floor_pds(_champion_pd_on(champion, holdout))
        except PipelineError as exc:  # a failed check, so that force can still override it
            return GateResult(failures + [str(exc)], comparison)
    try:
        auc = compare_aucs(y, challenger_pd, champion_pd, GATE_AUC_DETECT, GATE_AUC_POWER)
    except PipelineError as exc:  # NaN PDs, one class, an SE not computable: never a pass
        return GateResult(failures + [f"AUC comparison with champion version "
                                      f"{champion.version} not computable: {exc}"], comparison)
    comparison.update(auc_comparison_tags(auc))
    line = auc_failure(auc, challenger.version, champion.version, len(holdout))
    return GateResult(failures + ([line] if line else []), comparison, y, challenger_pd,
                      champion_pd, auc)


def auc_rule() -> str:
    """The AUC comparison's rule in one line (tags, report, messages)."""
    return (f"passes above a difference of {-GATE_AUC_DETECT / 2:+.3f}; decides on the "
            f"difference when its SE is at most {max_se():.4f} (a loss of {GATE_AUC_DETECT} "
            f"caught, and an equal model passed, {GATE_AUC_POWER:.0%} of the time), with a "
            "larger SE only on conclusive evidence")


def max_se() -> float:
    """The largest SE at which the gate decides on the estimated difference."""
    return largest_deciding_se(GATE_AUC_DETECT, GATE_AUC_POWER)


def auc_failure(auc: AucComparison, challenger: str, champion: str, rows: int) -> str:
    """The failure line of a refused or undecided comparison ("" when it passed)."""
    numbers = (f"AUC {auc.auc_new:.4f} against {auc.auc_old:.4f}, difference "
               f"{auc.difference:+.4f}, DeLong SE {auc.se:.4f}")
    if auc.decision == REFUSE:
        return (f"ROC AUC {auc.auc_new:.4f} of version {challenger} is below champion version "
                f"{champion}'s {auc.auc_old:.4f} on the same holdout ({rows} rows) by more than "
                f"the gate allows: difference {auc.difference:+.4f} (DeLong SE {auc.se:.4f}) "
                f"is not above {auc.cutoff:+.3f}")
    if auc.decision == UNDECIDED:
        return (f"not enough evidence (amber) to compare version {challenger} with champion "
                f"version {champion} on {rows} holdout loans: {numbers}; this holdout detects "
                f"a loss of {auc.smallest_detectable:.3f} with {GATE_AUC_POWER:.0%} power, the "
                f"gate needs SE <= {auc.max_se:.4f} to detect {GATE_AUC_DETECT}. Validate on "
                "more holdout loans (-P test_size, a larger book or a time split), or a "
                "validator overrides: -P force=true -P reason='...'")
    return ""


def auc_comparison_tags(auc: AucComparison) -> dict[str, str]:
    """The AUC comparison as version tags."""
    return {"gate.challenger_roc_auc": f"{auc.auc_new:.6f}",
            "gate.champion_roc_auc": f"{auc.auc_old:.6f}",
            "gate.auc_difference": f"{auc.difference:.6f}",
            "gate.auc_difference_se": f"{auc.se:.6f}",
            "gate.auc_power": f"{auc.power:.4f}",
            "gate.auc_smallest_detectable": f"{auc.smallest_detectable:.6f}",
            "gate.auc_decision": auc.decision}


def same_model(first: ModelVersion, second: ModelVersion) -> bool:
    """Whether two versions were registered from one logged model (same source and run)."""
    return bool(first.source) and first.source == second.source and first.run_id == second.run_id


def lights_check(version: ModelVersion) -> tuple[list[str], dict[str, str]]:
    """Failure lines for the red blocking lights of the version's run, and summary tags."""
    found = traffic_lights(get_run(version.run_id).data.metrics)
    # roc_auc alone (logged since the first version) is no validation to judge by
    if not any(li.category in GATE_BLOCKING_CATEGORIES and li.category != "discrimination"
               for li in found):
        return [
            f"version {version.version}'s run {version.run_id} logged no calibration or "
            "stability metrics to judge it by; train or tune it again with this code"
        ], {"gate.lights": "none logged"}
    failures = [
        f"red {li.category} light for version {version.version}: {li.check} = {li.value:.4g} "
        f"(thresholds: {li.thresholds})" if li.colour == "red" else
        f"grey {li.category} light for version {version.version}: {li.check} is not defined "
        "(NaN) on its holdout; a check that cannot be computed is not a pass"
        for li in blocking_lights(found)
    ]
    counts = ", ".join(f"{sum(li.colour == c for li in found)} {c}"
                       for c in ("green", "amber", "red"))
    tags = {"gate.lights": counts,
            "gate.red_lights": ", ".join(li.metric for li in found if li.colour == "red")
            or "none",
            "gate.grey_lights": ", ".join(li.metric for li in found if li.colour == "grey")
            or "none"}
    return failures, tags


def _champion_pd_on(champion: ModelVersion, holdout) -> np.ndarray:
    """The champion's PDs on ``holdout``, or a clear error if it cannot score those rows."""
    model_uri = f"models:/{champion.name}/{champion.version}"
    try:
        model = mlflow.pyfunc.load_model(model_uri)
        reapply()  # the model's libraries (OpenMP) were loaded just now
    except Exception as exc:  # a damaged MLmodel or model file: the champion's, not the columns
        raise PipelineError(
            f"champion version {champion.version}'s model cannot be loaded "
            f"({type(exc).__name__}: {first_line(exc)}); its artifacts "
            f"({champion.source}) are damaged: restore them, or replace this champion anyway "
            "with -P force=true -P reason='...'."
        ) from None
    try:
        return np.asarray(model.predict(model_inputs(model, holdout))[PD_COL], dtype=float)
    except Exception as exc:  # a champion trained on other columns cannot score them
        raise PipelineError(
            f"champion version {champion.version} cannot score the challenger's holdout "
            f"({first_line(exc)}); the two take different columns. A model of another "
            "portfolio gets its own name (-P model_name=...); to replace this champion "
            "anyway, -P force=true -P reason='...'."
        ) from None
