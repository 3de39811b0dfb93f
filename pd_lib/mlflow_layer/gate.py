"""The champion gate: may a challenger version become champion?"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion

from pd_lib.config import (
    GATE_AUC_MARGIN,
    GATE_BLOCKING_CATEGORIES,
    HOLDOUT_ARTIFACT,
    PD_COL,
    TARGET_COL,
)
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import read_parquet_artifact, run_uri
from pd_lib.mlflow_layer.tracking import get_run
from pd_lib.threads import limit_threads
from pd_lib.validation.lights import blocking_lights, traffic_lights
from pd_lib.validation.metrics import roc_auc


@dataclass
class GateResult:
    """Failed checks (empty when the challenger may become champion) and what was compared."""

    failures: list[str]
    comparison: dict[str, str]


def champion_gate(challenger: ModelVersion, champion: ModelVersion | None) -> GateResult:
    """Judge the challenger on its own traffic lights and against the champion.

    Fails, one line per check, when the challenger's run has a red light in
    config.GATE_BLOCKING_CATEGORIES (calibration, stability), and when its ROC AUC on its
    holdout is below the champion's on the same rows by more than GATE_AUC_MARGIN (the
    holdout with the challenger's PDs is scored by the champion model too). The first
    version (no champion) is judged on its lights alone.
    """
    failures, comparison = lights_check(challenger)
    if champion is None or str(champion.version) == str(challenger.version):
        comparison["gate"] = "no other champion"
        return GateResult(failures, comparison)
    holdout = read_parquet_artifact(
        run_uri(challenger.run_id, HOLDOUT_ARTIFACT), f"holdout of version {challenger.version}"
    )
    y = holdout[TARGET_COL].to_numpy()
    challenger_auc = roc_auc(y, holdout[PD_COL].to_numpy())
    comparison.update({
        "gate.holdout_rows": str(len(holdout)),
        "gate.challenger_roc_auc": f"{challenger_auc:.6f}",
        "gate.champion_version": champion.version,
        "gate.auc_margin": str(GATE_AUC_MARGIN),
    })
    if same_model(challenger, champion):
        # One logged model behind both versions (main registering the same run again): the
        # champion's PDs on these rows are the challenger's, scored by that very model.
        comparison["gate.champion_same_model"] = challenger.source
        champion_pd = holdout[PD_COL].to_numpy()
    else:
        try:
            champion_pd = _champion_pd_on(champion, holdout)
        except PipelineError as exc:  # a failed check, so that force can still override it
            return GateResult(failures + [str(exc)], comparison)
    champion_auc = roc_auc(y, champion_pd)
    comparison["gate.champion_roc_auc"] = f"{champion_auc:.6f}"
    if challenger_auc < champion_auc - GATE_AUC_MARGIN:
        failures.append(
            f"ROC AUC {challenger_auc:.4f} of version {challenger.version} is below champion "
            f"version {champion.version}'s {champion_auc:.4f} on the same holdout "
            f"({len(holdout)} rows) by more than the margin {GATE_AUC_MARGIN}"
        )
    return GateResult(failures, comparison)


def same_model(first: ModelVersion, second: ModelVersion) -> bool:
    """Whether two versions were registered from one logged model (same source and run)."""
    return bool(first.source) and first.source == second.source and first.run_id == second.run_id


def lights_check(version: ModelVersion) -> tuple[list[str], dict[str, str]]:
    """Failure lines for the red blocking lights of the version's run, and summary tags."""
    found = traffic_lights(get_run(version.run_id).data.metrics)
    if not any(li.category in GATE_BLOCKING_CATEGORIES for li in found):
        return [
            f"version {version.version}'s run {version.run_id} logged no calibration or "
            "stability metrics to judge it by; train or tune it again with this code"
        ], {"gate.lights": "none logged"}
    failures = [
        f"red {li.category} light for version {version.version}: {li.check} = {li.value:.4g} "
        f"(thresholds: {li.thresholds})"
        for li in blocking_lights(found)
    ]
    counts = ", ".join(f"{sum(li.colour == c for li in found)} {c}"
                       for c in ("green", "amber", "red"))
    tags = {"gate.lights": counts,
            "gate.red_lights": ", ".join(li.metric for li in found if li.colour == "red")
            or "none"}
    return failures, tags


def _champion_pd_on(champion: ModelVersion, holdout) -> np.ndarray:
    """The champion's PDs on ``holdout``, or a clear error if it cannot score those rows."""
    model_uri = f"models:/{champion.name}/{champion.version}"
    try:
        model = mlflow.pyfunc.load_model(model_uri)
        limit_threads()  # the model's libraries (OpenMP) were loaded just now
        return np.asarray(model.predict(holdout)[PD_COL], dtype=float)
    except Exception as exc:  # a champion trained on other columns cannot score them
        raise PipelineError(
            f"champion version {champion.version} cannot score the challenger's holdout "
            f"({first_line(exc)}); the two were trained on different data. Promote with "
            "-P force=true -P reason='...' to replace it anyway."
        ) from None
