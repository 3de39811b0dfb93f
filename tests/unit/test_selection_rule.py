"""model=auto's log line states the rule it chose by, in the words README and
docs/model_defaults.md use (issue 27: they had contradicted each other)."""

from __future__ import annotations

from pd_lib.mlflow_layer.building.model_logging import selection_rule
from pd_lib.modelling.blend import BLEND
from tests.helpers import PROJECT_ROOT


def test_the_blend_rule_reads_the_same_in_the_log_readme_and_docs():
    rule = selection_rule({BLEND, "logistic_regression"})
    assert "the blend unless a single kind beats it by more than one standard error" in rule
    readme = " ".join((PROJECT_ROOT / "README.md").read_text().split())
    assert "chosen unless a single kind beats it by more than one standard error" in readme
    docs = " ".join((PROJECT_ROOT / "docs" / "model_defaults.md").read_text().split())
    assert "a single kind must beat it by more than one standard error" in docs


def test_without_the_blend_near_ties_go_to_the_simpler_kind():
    rule = selection_rule({"logistic_regression", "hist_gradient_boosting"})
    assert "simplest kind" in rule and "blend" not in rule
