"""The champion gate: may a challenger version become champion? The store's side: read the
versions' runs, holdout and models; the decisions are pd_lib.validation.gate_rules'."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion

from pd_lib.config import HOLDOUT_ARTIFACT, PD_COL, TARGET_COL
from pd_lib.cores import reapply
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.artifacts import read_parquet_artifact, run_uri
from pd_lib.mlflow_layer.run_lookup import get_run
from pd_lib.mlflow_layer.scoring_model import model_inputs
from pd_lib.validation.auc_comparison import UNDECIDED, AucComparison
from pd_lib.validation.gate_rules import auc_judgement, auc_rule, light_failures
from pd_lib.validation.inputs import floor_pds


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
    lines, tags, auc = auc_judgement(y, challenger_pd, champion_pd, challenger.version,
                                     champion.version)
    comparison.update(tags)
    if auc is None:
        return GateResult(failures + lines, comparison)
    return GateResult(failures + lines, comparison, y, challenger_pd, champion_pd, auc)


def same_model(first: ModelVersion, second: ModelVersion) -> bool:
    """Whether two versions were registered from one logged model (same source and run)."""
    return bool(first.source) and first.source == second.source and first.run_id == second.run_id


def lights_check(version: ModelVersion) -> tuple[list[str], dict[str, str]]:
    """Failure lines for the red blocking lights of the version's run, and summary tags."""
    return light_failures(version.version, version.run_id, get_run(version.run_id).data.metrics)


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
