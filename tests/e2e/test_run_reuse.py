"""Run reuse on a real store: the newest matching run, stale code, edited user files."""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from pd_lib.mlflow_layer.fingerprint import code_fingerprint
from pd_lib.mlflow_layer.run_params import as_mlflow_param
from pd_lib.mlflow_layer.runner.pipeline import inherited_env_manager
from pd_lib.mlflow_layer.runner.runs import find_finished_run, full_params


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
    from pd_lib.mlflow_layer.runner.pipeline import _source_tags

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
