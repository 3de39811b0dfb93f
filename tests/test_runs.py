"""Run reuse: code fingerprints, parameters as MLflow stores them, the env manager."""

from __future__ import annotations

import shutil

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.pipeline import inherited_env_manager
from pd_lib.runs import entry_point_defaults, find_finished_run, full_params
from pd_lib.tracking import as_mlflow_param, code_fingerprint
from tests.conftest import PROJECT_ROOT


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
    assert defaults["data_uri"] == "" and defaults["n_estimators"] == "100"
    assert full_params("train", {"n_estimators": 7})["n_estimators"] == "7"


def test_newest_matching_run_is_found_and_stale_code_is_not(tracking_uri):
    experiment_id = mlflow.set_experiment("reuse").experiment_id
    params = full_params("generate", {"n_samples": 50})
    ids = []
    for fingerprint in ("old", code_fingerprint(), code_fingerprint()):
        with mlflow.start_run() as run:
            mlflow.set_tags({"mlflow.project.entryPoint": "generate",
                             "pd.code_fingerprint": fingerprint})
            mlflow.log_params({k: as_mlflow_param(v) for k, v in params.items()})
        ids.append(run.info.run_id)
    found = find_finished_run(experiment_id, "generate", params)
    assert found.info.run_id == ids[2]
    assert find_finished_run(experiment_id, "generate", params, fingerprint="other") is None
    assert find_finished_run(experiment_id, "train", params) is None


def test_main_passes_its_own_env_manager_on(tracking_uri):
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.project.env", "virtualenv")
    assert inherited_env_manager(MlflowClient().get_run(run.info.run_id)) == "virtualenv"
    with mlflow.start_run() as run:
        pass
    assert inherited_env_manager(MlflowClient().get_run(run.info.run_id)) == "local"


def test_an_edited_user_file_is_not_served_from_the_old_generate_run(tracking_uri, tmp_path):
    from pd_lib.pipeline import _source_tags

    loans = tmp_path / "loans.csv"
    loans.write_text("x,default\n1,0\n2,1\n")
    experiment_id = mlflow.set_experiment("reuse").experiment_id
    params = full_params("generate", {"source": str(loans)})
    with mlflow.start_run():
        mlflow.set_tags({"mlflow.project.entryPoint": "generate",
                         "pd.code_fingerprint": code_fingerprint(), **_source_tags(str(loans))})
        mlflow.log_params({k: as_mlflow_param(v) for k, v in params.items()})
    assert find_finished_run(experiment_id, "generate", params,
                             tags=_source_tags(str(loans))) is not None
    loans.write_text("x,default\n1,0\n2,1\n3,0\n")
    assert find_finished_run(experiment_id, "generate", params,
                             tags=_source_tags(str(loans))) is None
    assert _source_tags("synthetic") == {}
