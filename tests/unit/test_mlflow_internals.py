"""Contract of pd_lib.mlflow_layer.mlflow_internals: what each non-public MLflow name must
still be and do. A failure here after an MLflow upgrade names the internal that moved;
re-check it (and its "Breaks:" note) before changing anything else."""

from __future__ import annotations

import importlib.util
import inspect
import sqlite3

import mlflow
import pytest

from pd_lib.mlflow_layer import mlflow_internals as internals

VERIFIED_MLFLOW = "3.17.2"  # requirements.txt's pin, the version the internals were read in


def test_the_internals_were_verified_against_this_mlflow():
    assert mlflow.__version__ == VERIFIED_MLFLOW, (
        f"MLflow is {mlflow.__version__}, but mlflow_internals was verified against "
        f"{VERIFIED_MLFLOW}: re-read each name in pd_lib/mlflow_layer/mlflow_internals.py in "
        "the new MLflow, then update VERIFIED_MLFLOW here")


@pytest.mark.parametrize(("name", "value"), [
    ("MLFLOW_PROJECT_ENTRY_POINT", "mlflow.project.entryPoint"),
    ("MLFLOW_PROJECT_ENV", "mlflow.project.env"),
    ("MLFLOW_PROJECT_BACKEND", "mlflow.project.backend"),
    ("MLFLOW_PARENT_RUN_ID", "mlflow.parentRunId"),
    ("MLFLOW_GIT_COMMIT", "mlflow.source.git.commit"),
    ("MLFLOW_USER", "mlflow.user"),
    ("MLFLOW_RUN_NAME", "mlflow.runName"),
    ("MLFLOW_SOURCE_NAME", "mlflow.source.name"),
    ("MLFLOW_SOURCE_TYPE", "mlflow.source.type"),
])
def test_run_tags_keep_their_names(name, value):
    """Run reuse searches finished runs by these tags; runs logged before an upgrade carry
    the old names, so a rename would silently stop every reuse."""
    assert getattr(internals, name) == value, f"MLflow renamed the tag {name}"


@pytest.mark.parametrize(("value", "stored"), [
    ("", "''"), ("abc", "abc"), ("a;b", "'a;b'"), ("a b", "'a b'"), ("x=1,2", "x=1,2"),
    ("it's", "'it'\"'\"'s'"),
])
def test_parameters_are_quoted_as_mlflow_run_stores_them(value, stored):
    assert internals.quote_param(value) == stored


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_project_functions_take_what_the_in_process_runner_passes():
    fetch, load, get_or_create = internals.project_functions()
    assert _parameters(fetch) == ["uri", "version", "entry_point", "parameters"]
    assert _parameters(load) == ["work_dir"]
    assert _parameters(get_or_create) == ["run_id", "uri", "experiment_id", "work_dir",
                                          "version", "entry_point", "parameters"]


def test_models_uri_resolution_takes_a_client_and_a_uri():
    from mlflow.store.artifact.utils import models

    assert _parameters(models.get_model_name_and_version) == ["client", "models_uri"]


def test_a_sqlite_store_is_created_and_migrated(tmp_path):
    db = tmp_path / "mlflow.db"
    internals.create_sqlite_store(f"sqlite:///{db}", str(tmp_path / "artifacts"))
    tables = {row[0] for row in sqlite3.connect(db).execute(
        "select name from sqlite_master where type = 'table'")}
    assert {"experiments", "runs", "registered_models", "model_versions",
            "alembic_version"} <= tables


def test_migrate_store_creates_a_sqlite_store_with_mlflows_default_root(tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "fresh.db"
    internals.migrate_store(f"sqlite:///{db}")
    internals.migrate_store(f"sqlite:///{db}")  # again: nothing to do, no error
    connection = sqlite3.connect(db)
    tables = {row[0] for row in connection.execute(
        "select name from sqlite_master where type = 'table'")}
    assert {"experiments", "registered_models", "model_versions", "alembic_version"} <= tables
    assert not any(name.startswith("_alembic_tmp") for name in tables)
    assert connection.execute("select count(*) from alembic_version").fetchone()[0] == 1


def test_the_fluent_api_caches_the_active_experiment_where_we_reset_it():
    import mlflow.tracking.fluent as fluent

    assert hasattr(fluent, "_active_experiment_id")
    internals.forget_active_experiment()
    assert fluent._active_experiment_id is None


def test_the_admin_password_length_matches_mlflows_check():
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_password

    _validate_password("x" * internals.MIN_AUTH_PASSWORD_LENGTH)
    with pytest.raises(MlflowException):
        _validate_password("x" * (internals.MIN_AUTH_PASSWORD_LENGTH - 1))


def test_the_basic_auth_function_exists():
    module, _, function = internals.BASIC_AUTH_FUNCTION.partition(":")
    if importlib.util.find_spec("flask_wtf") is None:
        pytest.skip("mlflow's auth extra (requirements-team.txt) is not installed")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_kubernetes_backend_functions_exist():
    if importlib.util.find_spec("kubernetes") is None:
        pytest.skip("the kubernetes package (requirements-team.txt) is not installed")
    backend = internals.kubernetes_backend()
    assert all(callable(getattr(backend, field)) for field in backend.__dataclass_fields__)


def test_the_registration_notice_is_mlflows_own_and_only_it_is_dropped():
    import logging

    from mlflow.tracking._model_registry import fluent

    source = inspect.getsource(fluent._register_model)
    assert "has no artifacts at artifact path" in source
    assert f'f"{internals.REGISTRATION_NOTICE}' in source
    assert fluent._logger.name == internals.REGISTRATION_LOGGER

    logger = logging.getLogger(internals.REGISTRATION_LOGGER)
    kept = []
    handler = logging.Handler()
    handler.emit = kept.append
    logger.addHandler(handler)
    try:
        with internals.quiet_registration_notice():
            logger.warning("Run with id abc has no artifacts at artifact path 'model', "
                           "registering model based on models:/m-1 instead")
            logger.warning("something else")
        logger.warning("Run with id abc has no artifacts at artifact path 'model', after")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in kept] == [
        "something else", "Run with id abc has no artifacts at artifact path 'model', after"]


def test_an_any_column_lets_int_and_float_through_pyfuncs_schema_check(tmp_path):
    import numpy as np
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.types import Schema

    column = internals.any_column("age", required=True)
    assert column.name == "age" and column.required and str(column.type) == "Any"
    schema = Schema([column])
    assert ModelSignature.from_dict(ModelSignature(inputs=schema).to_dict()).inputs == schema
    from mlflow.models.utils import _enforce_schema  # what pyfunc.predict runs first

    for values in (np.array([30, 41], dtype=np.int64), np.array([30.5, np.nan])):
        checked = _enforce_schema(pd.DataFrame({"age": values}), schema)
        assert checked["age"].dtype == values.dtype


class _Half(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [0.5] * len(model_input)


def test_the_scoring_app_of_a_loaded_model_has_mlflows_routes(tmp_path):
    mlflow.pyfunc.save_model(tmp_path / "half", python_model=_Half())
    app = internals.scoring_app(mlflow.pyfunc.load_model(str(tmp_path / "half")))
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/ping", "/invocations"} <= paths


def test_the_model_implementation_is_what_predict_calls_after_its_schema_check(tmp_path):
    import pandas as pd

    mlflow.pyfunc.save_model(tmp_path / "half", python_model=_Half())
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "half"))
    implementation = internals.model_implementation(loaded)
    assert loaded._predict_fn.__self__ is implementation  # pyfunc's predict ends in it
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert list(implementation.predict(frame)) == list(loaded.predict(frame)) == [0.5] * 3


def test_the_installed_package_map_is_built_once_and_read_by_every_requirement_check():
    from mlflow.utils import requirements_utils

    internals.fill_installed_package_map()
    filled = requirements_utils._MODULES_TO_PACKAGES
    assert "sklearn" in filled and "scikit-learn" in filled["sklearn"]
    requirements_utils.warn_dependency_requirement_mismatches(["scikit-learn", "pandas"])
    assert requirements_utils._MODULES_TO_PACKAGES is filled  # read, not built again
