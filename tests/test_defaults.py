"""The defaults chosen by the benchmarks are the same in MLproject, the click steps and pd_lib."""

from __future__ import annotations

import pytest
import yaml

from pd_lib.config import DEFAULT_GRID, DEFAULT_MODEL, DEFAULT_SEARCH, SEARCH_METHODS
from pd_lib.data import make_classification_loans
from pd_lib.errors import PipelineError
from pd_lib.models import MODEL_KINDS, build_model, check_model_params
from pd_lib.tracking import PROJECT_ROOT
from pd_lib.tuning import parse_grid
from steps.main import main
from steps.train import train
from steps.tune import tune


def _mlproject_defaults(entry_point: str) -> dict[str, str]:
    spec = yaml.safe_load((PROJECT_ROOT / "MLproject").read_text())
    return {k: str(v.get("default")) for k, v in spec["entry_points"][entry_point]["parameters"]
            .items()}


def _click_defaults(command) -> dict[str, str]:
    return {p.name: str(p.default) for p in command.params}


@pytest.mark.parametrize(("entry_point", "command", "model_key"),
                         [("train", train, "model"), ("tune", tune, "model"),
                          ("main", main, "model"), ("main", main, "tune_model")])
def test_default_model_everywhere(entry_point, command, model_key):
    assert DEFAULT_MODEL in MODEL_KINDS
    assert _mlproject_defaults(entry_point)[model_key] == DEFAULT_MODEL
    assert _click_defaults(command)[model_key] == DEFAULT_MODEL


@pytest.mark.parametrize(("entry_point", "command"), [("tune", tune), ("main", main)])
def test_default_search_and_grid_everywhere(entry_point, command):
    mlproject, click_defaults = _mlproject_defaults(entry_point), _click_defaults(command)
    assert mlproject["search"] == click_defaults["search"] == DEFAULT_SEARCH
    assert DEFAULT_SEARCH in SEARCH_METHODS and "grid" in SEARCH_METHODS
    assert mlproject["grid"] == click_defaults["grid"] == DEFAULT_GRID
    assert parse_grid(DEFAULT_GRID, DEFAULT_MODEL)  # a valid grid for the default model


@pytest.mark.parametrize(("entry_point", "command"), [("train", train), ("main", main)])
def test_leaf_default_means_the_model_default(entry_point, command):
    assert float(_mlproject_defaults(entry_point)["min_samples_leaf"]) == 0
    assert _click_defaults(command)["min_samples_leaf"] == "0"


def test_leaf_zero_gives_each_kind_its_own_default():
    X = make_classification_loans(100, 4, 0.2, seed=0)
    rf = build_model("random_forest", {"min_samples_leaf": 0}, X)
    hgb = build_model("hist_gradient_boosting", {"min_samples_leaf": 0}, X)
    assert rf.pipeline[-1].min_samples_leaf == 1  # scikit-learn's, the tutorial's
    assert hgb.pipeline[-1].min_samples_leaf == 20
    assert build_model("hist_gradient_boosting", {"min_samples_leaf": 7}, X).pipeline[-1] \
        .min_samples_leaf == 7


def test_negative_leaf_is_refused():
    with pytest.raises(PipelineError, match="min_samples_leaf must be >= 0"):
        check_model_params("random_forest", {"min_samples_leaf": -1})
