"""Run reuse: code fingerprints, parameters as MLflow stores them, the env manager."""

from __future__ import annotations

import shutil

from pd_lib.mlflow_layer.fingerprint import code_fingerprint
from pd_lib.mlflow_layer.run_params import as_mlflow_param
from pd_lib.mlflow_layer.runner.runs import entry_point_defaults, full_params
from tests.helpers import PROJECT_ROOT


def _copy_project(dst):
    for name in ("MLproject", "python_env.yaml", "requirements.txt"):
        shutil.copy(PROJECT_ROOT / name, dst / name)
    for name in ("steps", "pd_lib"):
        shutil.copytree(PROJECT_ROOT / name, dst / name,
                        ignore=shutil.ignore_patterns("__pycache__"))


def test_fingerprint_changes_with_any_code_edit_and_only_then(tmp_path):
    _copy_project(tmp_path)
    before = code_fingerprint(tmp_path)
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "README.md").write_text("docs do not change what runs")
    assert code_fingerprint(tmp_path) == before
    step = tmp_path / "steps" / "train.py"
    step.write_text(step.read_text() + "\n# an uncommitted edit\n")
    assert code_fingerprint(tmp_path) != before


def test_params_are_compared_as_mlflow_run_stores_them():
    assert as_mlflow_param("") == "''"
    assert as_mlflow_param("n_estimators=5;max_depth=3") == "'n_estimators=5;max_depth=3'"
    assert as_mlflow_param(0.1) == "0.1"
    defaults = entry_point_defaults("train")
    assert defaults["data_uri"] == "" and defaults["n_estimators"] == "0"
    assert full_params("train", {"n_estimators": 7})["n_estimators"] == "7"


