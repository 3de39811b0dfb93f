"""The promotion gate on a real temporary registry: AUC against the champion and the
challenger's own traffic lights; refusals leave the registry exactly as it was."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from pd_lib.config import LOANS_ARTIFACT, MODEL_NAME, REPORT_ARTIFACT, TARGET_COL
from pd_lib.data.sources import make_classification_loans
from pd_lib.data.splits import split_data
from pd_lib.mlflow_layer.building.model_logging import log_model
from pd_lib.mlflow_layer.governance.registry import register as register_run
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.fitting import fit
from pd_lib.validation import metrics
from pd_lib.validation.master_scale import grade_table, master_scale_metrics
from steps.generate import generate
from steps.promote import promote
from tests.e2e.test_registry import _state, _train_and_register
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import invoke
from tests.unit.test_metrics import _calibrated_sample, _too_extreme

# On SMALL data (800 loans, 160 in the holdout) these three models have known lights:
# AUC ~0.84, every blocking light green:
STUMP = ["--model", "random_forest", "--n-estimators", 1, "--max-depth", 1]
LOGISTIC = ["--model", "logistic_regression"]  # AUC ~0.94, every blocking light green
# PDs of exactly 0 or 1: the per-grade Jeffreys light is red (grade 1: loans at PD 0, floored
# to 0.03%, with defaults). HL was red too until issue 17; its groups, merged to 5 expected
# defaults and non-defaults, now pool PDs of 0 and 1 into one group.
# Without a calibration stage (issue 12 gives every kind one by default, which smooths them):
FULL_TREE = ["--model", "random_forest", "--n-estimators", 1, "--max-depth", 0,
             "--calibration", "none"]
# Three stumps on another split: green lights, on its 160 holdout rows an AUC within 0.001
# of STUMP's but a DeLong SE of the difference (0.017) too large to decide (issue 28).
CLOSE_TO_STUMP = ["--model", "random_forest", "--n-estimators", 3, "--max-depth", 1,
                  "--seed", 7]


@pytest.fixture
def data_uri(tracking_uri, runner) -> str:
    assert invoke(runner, generate, SMALL).exit_code == 0
    return f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"


def _refusal_lines(result) -> list[str]:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "Production refused (validation report: runs:/" in lines[0]
    assert REPORT_ARTIFACT in lines[0]
    return lines[1:]


def test_first_version_with_green_lights_becomes_champion(data_uri, runner):
    _train_and_register(runner, data_uri, *LOGISTIC)
    result = invoke(runner, promote, ["--version", 1])
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["aliases"] == {"champion": "1"}
    assert state["tags"]["1"]["gate.red_lights"] in ("none", "train_holdout_roc_auc_gap")
    assert "green" in state["tags"]["1"]["gate.lights"]


def test_first_version_with_a_red_calibration_light_is_refused(data_uri, runner):
    _train_and_register(runner, data_uri, *FULL_TREE)
    before = _state()
    failures = _refusal_lines(invoke(runner, promote, ["--version", 1]))
    assert failures == [
        line for line in failures if line.startswith("error: red calibration light for version 1")
    ]
    assert any("Jeffreys test per grade" in line and "red < 0.01" in line for line in failures)
    assert _state() == before
    assert before["aliases"] == {} and before["stages"] == {"1": "None"}


def _version_2_replaces_the_champion(runner) -> dict[str, str]:
    """Promote version 2 over champion version 1; its tags once the registry agrees."""
    result = invoke(runner, promote, ["--version", 2])
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["aliases"] == {"champion": "2"}
    assert state["stages"] == {"1": "Archived", "2": "Production"}
    return state["tags"]["2"]


def test_better_challenger_with_green_lights_replaces_the_champion(data_uri, runner):
    _train_and_register(runner, data_uri, *STUMP)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    _train_and_register(runner, data_uri, *LOGISTIC)
    tags = _version_2_replaces_the_champion(runner)
    assert float(tags["gate.challenger_roc_auc"]) > float(tags["gate.champion_roc_auc"])
    assert "gate.champion_same_model" not in tags  # two models: the champion scored the rows


def test_same_model_registered_again_is_judged_without_reloading_the_champion(data_uri, runner):
    run_id = _train_and_register(runner, data_uri, *LOGISTIC)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    # register returns version 1 for this run now; a second version of the same model exists
    # in stores registered before that, or made with mlflow.register_model directly
    mlflow.register_model(f"runs:/{run_id}/model", MODEL_NAME)
    tags = _version_2_replaces_the_champion(runner)
    source = MlflowClient().get_model_version(MODEL_NAME, "1").source
    assert tags["gate.champion_same_model"] == source
    assert tags["gate.champion_roc_auc"] == tags["gate.challenger_roc_auc"]


def test_worse_challenger_is_refused_and_nothing_changes(data_uri, runner):
    _train_and_register(runner, data_uri, *LOGISTIC)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    assert invoke(runner, promote, ["--version", 1, "--stage", "Production"]).exit_code == 0
    _train_and_register(runner, data_uri, *STUMP)
    assert invoke(runner, promote, ["--version", 2, "--stage", "Staging"]).exit_code == 0
    before = _state()
    failures = _refusal_lines(invoke(runner, promote, ["--version", 2]))
    assert len(failures) == 1
    assert "below champion version 1's" in failures[0]
    assert _state() == before  # champion, challenger alias, stages and tags all unchanged
    assert before["aliases"] == {"champion": "1", "challenger": "2"}


def test_challenger_with_a_red_light_is_refused_even_with_a_better_auc(data_uri, runner):
    """The full tree's AUC is a little above the stump's (0.848 vs 0.836) on 160 rows, so the
    AUC comparison does not refuse it; the red light does."""
    _train_and_register(runner, data_uri, *STUMP)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    _train_and_register(runner, data_uri, *FULL_TREE)
    before = _state()
    failures = _refusal_lines(invoke(runner, promote, ["--version", 2]))
    assert any(line.startswith("error: red calibration light for version 2: Jeffreys test per")
               for line in failures)
    assert not [line for line in failures if "below champion" in line]
    assert _state() == before


def test_too_small_a_holdout_to_tell_two_green_models_apart_is_amber_not_refused(
        data_uri, runner):
    """Issue 28: two models with green lights whose AUCs 160 rows cannot tell apart; the gate
    says it lacks the evidence, with the numbers and what to do, and changes nothing."""
    _train_and_register(runner, data_uri, *STUMP)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    _train_and_register(runner, data_uri, *CLOSE_TO_STUMP)
    before = _state()
    result = invoke(runner, promote, ["--version", 2])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "to Production not decided, not enough evidence (validation report:" in lines[0]
    [amber] = lines[1:]
    assert "not enough evidence (amber) to compare version 2 with champion version 1" in amber
    assert "-P test_size" in amber and "force=true" in amber
    assert _state() == before


def test_force_overrides_red_lights_and_records_who_and_why(data_uri, runner):
    _train_and_register(runner, data_uri, *STUMP)
    assert invoke(runner, promote, ["--version", 1]).exit_code == 0
    _train_and_register(runner, data_uri, *FULL_TREE)
    before = _state()
    result = invoke(runner, promote, ["--version", 2, "--force", "true"])
    assert result.exit_code == 2 and "force needs a reason" in result.stderr
    assert _state() == before
    result = invoke(runner, promote, ["--version", 2, "--force", "true", "--reason",
                                      "interim model while the scorecard is rebuilt"])
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["aliases"] == {"champion": "2"}
    tags = state["tags"]["2"]
    assert tags["gate.forced"] == "true"
    assert tags["gate.forced_reason"] == "interim model while the scorecard is rebuilt"
    assert tags["gate.forced_by"]
    assert "red calibration light for version 2" in tags["gate.overridden_failures"]
    assert "jeffreys_pvalue_grades_holm" in tags["gate.red_lights"]


def _register_small_model(small_loans, logged_metrics: dict[str, float]) -> str:
    """Register a small logistic model whose run logged ``logged_metrics`` (none: a run from
    before validation existed); returns the run id."""
    with mlflow.start_run() as run:
        samples = split_data(small_loans, 0.2, seed=1)
        model = fit(build_model("logistic_regression", {}, samples.train),
                             samples.train)
        log_model(model, samples.train)
        if logged_metrics:
            mlflow.log_metrics(logged_metrics)
    register_run(run.info.run_id, MODEL_NAME)
    return run.info.run_id


def _large_holdout_metrics(factor: float) -> dict[str, float]:
    """What train logs for a 20,000-loan holdout whose PDs are the true PDs with the logit
    stretched by ``factor`` around the same mean PD (calibration in the large stays exact):
    a large holdout without training on a large book."""
    y, pd_true = _calibrated_sample(20_000, seed=1)
    pd_pred = _too_extreme(pd_true, factor)
    return {**metrics.pd_metrics(y, pd_pred, 0.5),
            **master_scale_metrics(grade_table(y, pd_pred), y, pd_pred)}


def test_large_holdout_with_a_significant_full_sample_hl_test_but_few_rejecting_subsamples(
        tracking_uri, runner, small_loans):
    """20,000 loans: the full-sample HL p-value is far below 0.001, which the p-value rule
    would refuse, but fewer than 90% of 5,000-loan subsamples reject: promoted."""
    logged = _large_holdout_metrics(1.2)
    _register_small_model(small_loans, logged)
    assert logged["hosmer_lemeshow_pvalue"] < 0.001
    assert 0.10 < logged["hosmer_lemeshow_subsample_reject_share"] <= 0.90
    result = invoke(runner, promote, ["--version", 1])
    assert result.exit_code == 0, result.output
    state = _state()
    assert state["aliases"] == {"champion": "1"}
    assert "hosmer_lemeshow" not in state["tags"]["1"]["gate.red_lights"]


def test_large_holdout_with_clearly_miscalibrated_pds_is_still_refused(
        tracking_uri, runner, small_loans):
    """PDs much too extreme, mean PD exact: calibration in the large and the portfolio
    Jeffreys test pass, the subsample share is red (and the per-grade Jeffreys light: the low
    grades' PDs are far too low)."""
    _register_small_model(small_loans, _large_holdout_metrics(1.5))
    failures = _refusal_lines(invoke(runner, promote, ["--version", 1]))
    assert len(failures) == 2
    assert failures[0].startswith("error: red calibration light for version 1: "
                                  "Hosmer-Lemeshow, share of 5,000-loan subsamples")
    assert "red > 0.9; for samples of more than 5,000 loans" in failures[0]
    assert failures[1].startswith("error: red calibration light for version 1: "
                                  "Jeffreys test per grade")
    assert _state()["aliases"] == {}


def test_version_without_validation_metrics_is_refused(data_uri, runner, small_loans):
    """A run logged before validation existed (a model, no metrics) cannot be judged."""
    mlflow.set_experiment("older runs")
    run_id = _register_small_model(small_loans, {})
    failures = _refusal_lines(invoke(runner, promote, ["--version", 1]))
    assert failures == [f"error: version 1's run {run_id} logged no calibration or "
                        "stability metrics to judge it by; train or tune it again with this code"]
    assert MlflowClient().get_model_version(MODEL_NAME, "1").current_stage == "None"


def test_first_version_of_a_book_of_pure_noise_is_refused(tracking_uri, runner, tmp_path):
    """Issue 17: a first version with a red AUC (0.52) became champion, as discrimination
    did not block. Flags shuffled at random: nothing to rank, the AUC light is red."""
    loans = make_classification_loans(n_samples=2000, n_features=6, default_rate=0.2, seed=3)
    loans[TARGET_COL] = np.random.default_rng(4).permutation(loans[TARGET_COL].to_numpy())
    path = tmp_path / "noise.parquet"
    loans.to_parquet(path)
    _train_and_register(runner, str(path), *LOGISTIC)
    logged = MlflowClient().get_run(_only_run("train").info.run_id).data.metrics
    assert logged["roc_auc"] < 0.60 and logged["roc_auc_ci_lower"] < 0.5 < logged[
        "roc_auc_ci_upper"]
    failures = _refusal_lines(invoke(runner, promote, ["--version", 1]))
    assert any(line.startswith("error: red discrimination light for version 1: "
                               "Discrimination (ROC AUC)") for line in failures), failures
    assert _state()["aliases"] == {}
