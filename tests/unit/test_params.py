"""The parameter table: MLproject and the click steps say exactly what pd_lib.params declares,
and every value is checked at the boundary, before a step does anything."""

from __future__ import annotations

import pytest
import yaml

from pd_lib import params
from pd_lib.errors import PipelineError
from steps import step_command
from tests.helpers import PROJECT_ROOT

MLPROJECT = yaml.safe_load((PROJECT_ROOT / "MLproject").read_text())["entry_points"]
MLPROJECT_TYPES = {str: "string", int: "float", float: "float", bool: "string"}


def test_every_entry_point_is_in_the_table():
    assert set(params.ENTRY_POINTS) == set(MLPROJECT)


@pytest.mark.parametrize("entry_point", sorted(params.ENTRY_POINTS))
def test_mlproject_declares_the_table(entry_point):
    declared = MLPROJECT[entry_point]["parameters"]
    table = params.ENTRY_POINTS[entry_point]
    assert list(declared) == list(params.names(table)), "same names, same order"
    for param in table:
        spec = declared[param.name]
        assert spec["type"] == MLPROJECT_TYPES[param.type], param.name
        if param.required:
            assert "default" not in spec, param.name
            continue
        default = spec["default"]
        expected = str(param.default).lower() if param.type is bool else param.default
        assert param.type(default) == expected if param.type is not bool else default == expected
        flag = f"--{param.name.replace('_', '-')} {{{param.name}}}"
        assert flag in MLPROJECT[entry_point]["command"], f"{entry_point} passes {param.name}"


@pytest.mark.parametrize("entry_point", sorted(params.ENTRY_POINTS))
def test_the_click_step_has_the_table(entry_point):
    command = step_command(f"steps.{entry_point}")
    options = {p.name: p for p in command.params}
    assert list(options) == list(params.names(params.ENTRY_POINTS[entry_point]))
    for param in params.ENTRY_POINTS[entry_point]:
        assert options[param.name].default == param.default, param.name
        assert options[param.name].opts == [f"--{param.name.replace('_', '-')}"]


def test_main_is_the_union_of_its_steps():
    main = set(params.names(params.ENTRY_POINTS["main"]))
    passed_on = {"data_uri", "run_id", "version"}  # main fills these in itself
    passed_on.add("scenario")  # main trains on the development book; periods are monitored
    for step in ("generate", "train", "tune", "register", "promote"):
        assert set(params.names(params.ENTRY_POINTS[step])) - passed_on <= main, step


@pytest.mark.parametrize(("values", "message"), [
    ({"model": "xgboost"}, "unknown model 'xgboost'"),
    ({"model": "random_forest", "n_estimators": -5}, "n_estimators must be >= 0"),
    ({"model": "auto", "calibration": "platt"}, "calibration must be one of"),
    ({"monotone": "dti=2"}, "monotone: cannot read 'dti=2'"),
    ({"grid": "C=1", "model": "auto"}, "tune searches one model kind"),
    ({"test_size": 1.5}, "test_size must be between 0 and 1"),
    ({"split": "weekly"}, "unknown split 'weekly'"),
    ({"threshold": 2.0}, "threshold must be between 0 and 1"),
    ({"threshold": 0.0}, "threshold must be between 0 and 1"),
    ({"search": "bayes", "cv": 3}, "unknown search 'bayes'"),
    ({"search": "grid", "cv": 1}, "cv must be at least 2"),
    ({"grid": "max_depth=a", "model": "hist_gradient_boosting"}, "is not a number"),
    ({"grid": "C=1", "tune_model": "random_forest", "model": "logistic_regression"},
     "'C' is not tunable for random_forest"),
    ({"stage": "Bogus"}, "unknown stage 'Bogus'"),
    ({"force": True, "reason": " "}, "force needs a reason"),
])
def test_bad_values_are_refused_at_the_boundary(values, message):
    with pytest.raises(PipelineError, match=message):
        params.check_params(values)


def test_the_defaults_of_every_entry_point_pass_the_checks():
    for table in params.ENTRY_POINTS.values():
        params.check_params({p.name: p.default for p in table if not p.required})
    assert params.check_stage(" production ") == "Production"

