"""pd_lib.tuning: the grid syntax."""

from __future__ import annotations

import pytest

from pd_lib.errors import PipelineError
from pd_lib.modelling.search import parse_grid


def test_grid_parses_numbers_and_none():
    grid = parse_grid("n_estimators=50, 100; max_depth=4,None", "random_forest")
    assert grid == {"n_estimators": [50, 100], "max_depth": [4, None]}


def test_grid_keeps_floats():
    assert parse_grid("learning_rate=0.05,0.1", "hist_gradient_boosting") == {
        "learning_rate": [0.05, 0.1]}


@pytest.mark.parametrize(
    ("grid", "needle"),
    [("n_estimators", "'n_estimators' is malformed"),
     ("n_estimators=", "'n_estimators=' is malformed"),
     ("=5", "'=5' is malformed"),
     ("n_estimators=ten", "value 'ten' of 'n_estimators' is not a number"),
     ("colour=red", "'colour' is not tunable for random_forest"),
     ("n_estimators=0,10", "n_estimators must be positive in a grid; got 0"),
     ("max_depth=None,3", None), ("min_samples_leaf=None", "min_samples_leaf must be positive"),
     ("", "grid is empty")],
)
def test_malformed_grids_are_refused(grid, needle):
    if needle is None:
        assert parse_grid(grid, "random_forest")["max_depth"] == [None, 3]
        return
    with pytest.raises(PipelineError, match=needle):
        parse_grid(grid, "random_forest")
