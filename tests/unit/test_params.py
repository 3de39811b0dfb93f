"""The parameter table: MLproject is written from what pd_lib.params declares, the click steps
say the same, and every value is checked at the boundary, before a step does anything."""

from __future__ import annotations

import pytest
import yaml

from pd_lib import mlproject, params
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.runner.runs import entry_point_defaults
from steps import step_command
from tests.helpers import PROJECT_ROOT

MLPROJECT = yaml.safe_load((PROJECT_ROOT / "MLproject").read_text())["entry_points"]


@pytest.mark.parametrize("path", sorted(mlproject.expected_files()),
                         ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_the_committed_mlproject_is_generated_from_the_table(path):
    assert path.read_text() == mlproject.expected_files()[path], \
        f"{path.relative_to(PROJECT_ROOT)} is stale: run python -m pd_lib.mlproject --write"


def test_every_entry_point_is_in_the_table():
    assert list(params.ENTRY_POINTS) == list(MLPROJECT)


@pytest.mark.parametrize("entry_point", sorted(params.ENTRY_POINTS))
def test_mlproject_declares_the_table(entry_point):
    """What YAML reads back from the written file is the table: names in order, types,
    defaults (as mlflow run logs them), and every parameter passed to the step."""
    declared = MLPROJECT[entry_point]["parameters"]
    table = params.ENTRY_POINTS[entry_point]
    assert list(declared) == list(params.names(table)), "same names, same order"
    for param in table:
        spec = declared[param.name]
        assert spec["type"] == mlproject.MLPROJECT_TYPES[param.type], param.name
        if param.required:
            assert "default" not in spec, param.name
        else:
            assert str(spec["default"]) == mlproject.default_text(param), param.name
            assert param.type(spec["default"]) == param.default or param.type is bool
    assert MLPROJECT[entry_point]["command"].split() == (
        f"python -m steps.{entry_point}".split()
        + [part for p in table for part in (f"--{p.name.replace('_', '-')}", f"{{{p.name}}}")])


@pytest.mark.parametrize("entry_point", sorted(params.ENTRY_POINTS))
def test_runs_are_matched_by_the_defaults_mlflow_run_reads(entry_point):
    """main compares a finished run's parameters with the table's defaults; ``mlflow run``
    logs MLproject's. They are the same strings."""
    from_file = {name: str(spec.get("default", ""))
                 for name, spec in MLPROJECT[entry_point]["parameters"].items()}
    assert entry_point_defaults(entry_point) == from_file


def test_check_names_a_stale_file_and_write_makes_it_current(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mlproject, "ROOT_FILE", tmp_path / "MLproject")
    monkeypatch.setattr(mlproject, "KUBERNETES_FILE", tmp_path / "k8s" / "MLproject")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "MLproject").write_text(mlproject.render().replace("default: 42", "default: 7"))
    assert mlproject.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'MLproject'} is not current" in out
    assert "python -m pd_lib.mlproject --write" in out
    assert mlproject.main(["--write"]) == 0
    assert mlproject.main(["--check"]) == 0
    assert "docker_env:" in (tmp_path / "k8s" / "MLproject").read_text()
    assert mlproject.main([]) == 2


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

