"""Every non-public MLflow name the project uses, in one place (pinned: MLflow 3.17.2).

An MLflow upgrade is the largest risk a maintainer inherits: these names are not part of
MLflow's documented API and may move or change without notice. Nothing else in the project
imports from ``mlflow.utils``, ``mlflow.store``, ``mlflow.projects.utils``, ``mlflow.server``
or touches an underscore name of MLflow (``tests/unit/test_layers.py`` checks that), and
``tests/unit/test_mlflow_internals.py`` pins the behaviour each one is relied on for, so an
upgrade fails there, by name, before it fails anywhere else.

For each name: why we use it, and what breaks if it changes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Run tags that ``mlflow run`` and the fluent API write. Why: ``main`` finds finished runs by
# their entry point, reads the env manager main ran under (mlflow issue 11849: it is not
# passed on to children), and the in-process runner and the tune step's child runs write the
# same tags as MLflow would. Breaks: run reuse finds nothing (every main recomputes), child
# runs lose their parent in the UI. MLFLOW_RUN_NAME: ``mlflow run`` names its run at random
# before the step starts; the step renames it through this tag. Breaks: runs are named
# amazing-trout-910 again.
from mlflow.utils.mlflow_tags import (  # noqa: F401  (re-exported)
    MLFLOW_GIT_COMMIT,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_PROJECT_BACKEND,
    MLFLOW_PROJECT_ENTRY_POINT,
    MLFLOW_PROJECT_ENV,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)


def any_column(name: str, required: bool = True) -> Any:
    """A signature input of type ``Any`` (mlflow.types.schema.AnyType, not exported by
    mlflow.types). Why: a numeric input typed ``double`` refuses an int64 column, so a model
    trained from a CSV could not ``pyfunc.predict`` that CSV; ``Any`` lets every column
    through to our model, which converts and checks it (scoring_model.numbers_accepted_as_any).
    Breaks: new models log ``double`` again (CSV integers refused by ``pyfunc.predict``), or
    logging a model fails on the signature."""
    from mlflow.types import ColSpec
    from mlflow.types.schema import AnyType

    return ColSpec(AnyType(), name, required=required)


def model_implementation(model: Any) -> Any:
    """The object a loaded pyfunc model's ``predict`` calls after MLflow's schema check
    (``PyFuncModel._model_impl``; for our flavor a pd_flavor.ReasonedPDModel). Why: MLflow
    checks an ``Any`` input element by element in Python (``_enforce_type`` per value): 90%
    of a 10,000-row predict, 33 s of CPU per million loans of 13 characteristics, while our
    scoring paths check the columns themselves first (scoring_model.check_columns, then
    numbers_as_float); they call the implementation directly. Breaks: ``score``, ``monitor``
    and the gate fall back to ``predict`` (slow, same PDs) only if this raises; a renamed
    attribute raises AttributeError here, which the contract test catches."""
    return model._model_impl


def scoring_app(model: Any) -> Any:
    """MLflow's REST scoring app (FastAPI: /ping, /invocations, ...) for a loaded pyfunc
    model, as ``mlflow models serve`` builds it (mlflow.pyfunc.scoring_server.init, not
    documented API). Why: ``steps.serve`` loads the model itself, so a model that does not
    load is one line, and puts a guard in front of the app (pd_lib.mlflow_layer.scoring.serving).
    Breaks: ``python -m steps.serve`` fails to start; ``mlflow models serve`` still works."""
    from mlflow.pyfunc import scoring_server

    return scoring_server.init(model)


# The minimum admin password length of ``mlflow server --app-name basic-auth``
# (mlflow.utils.validation._validate_password). Why: the team server checks it before it
# starts, so a short password is one clear line instead of a server that dies on start.
# Breaks: a password MLflow accepts is refused, or the server dies on a password we passed.
MIN_AUTH_PASSWORD_LENGTH = 12

# The basic-auth app's request check, as its auth config file names it. Why: the team
# server writes that file. Breaks: every request to the team server fails authentication.
BASIC_AUTH_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"

# The logger of MLflow's register_model, and the start of its notice that a run's model lives
# outside the run's artifacts. Why: MLflow 3 stores a logged model as models:/<model id>, and
# registering runs:/<run id>/model warns on every call that it registers that model instead,
# which is what register wants (:func:`quiet_registration_notice`). Breaks: the WARNING line
# is back in the output of every register and main.
REGISTRATION_LOGGER = "mlflow.tracking._model_registry.fluent"
REGISTRATION_NOTICE = "Run with id "


class _DropRegistrationNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith(REGISTRATION_NOTICE)
                    and "has no artifacts at artifact path" in message)


@contextlib.contextmanager
def quiet_registration_notice() -> Iterator[None]:
    """Drop MLflow's "registering model based on models:/<id> instead" warning for the
    duration (see REGISTRATION_LOGGER); every other message of that logger still shows."""
    logger, notice = logging.getLogger(REGISTRATION_LOGGER), _DropRegistrationNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def quote_param(value: str) -> str:
    """A parameter value as ``mlflow run`` stores it: shell-quoted (``''`` for empty).

    Why: run reuse compares a finished run's stored parameters with the ones ``main`` would
    pass; ``mlflow run`` stores them through ``mlflow.utils.string_utils.quote``. Breaks:
    every reuse check misses (the first cache attempt missed exactly on this quoting).
    """
    from mlflow.utils.string_utils import quote

    return quote(value)


def model_name_and_version(client: Any, models_uri: str) -> tuple[str, str] | tuple[str]:
    """(name, version) that a ``models:/`` URI points at now (alias, stage or number).

    Why: scoring pins ``models:/name@champion`` to one version before it reads anything, so
    a promotion during scoring cannot mix two models. Breaks: score cannot resolve aliases
    and stages (a clear "cannot find model" error).
    """
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    return get_model_name_and_version(client, models_uri)


def project_functions() -> tuple[Callable, Callable, Callable]:
    """``fetch_and_validate_project``, ``load_project`` and ``get_or_create_run`` of
    ``mlflow.projects.utils``.

    Why: ``main`` runs its steps in its own process with the local env manager, but each
    step must still be the child run ``mlflow run`` would create (same tags, validated and
    logged parameters, the entry point's own command line). Breaks: ``main`` with the local
    env manager (its default); ``PD_STEPS_IN_SUBPROCESS=1`` avoids these functions.
    """
    from mlflow.projects.utils import fetch_and_validate_project, get_or_create_run, load_project

    return fetch_and_validate_project, load_project, get_or_create_run


def create_sqlite_store(uri: str, artifact_root: str) -> None:
    """Create and migrate a SQLite tracking store at ``uri`` now, then close it.

    Why: tests copy one migrated store per test instead of migrating each (about 2 s).
    Breaks: the end-to-end tests' store fixture.
    """
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(uri, artifact_root).engine.dispose()


def migrate_store(uri: str) -> None:
    """Build MLflow's own tracking store for ``uri`` now: for a SQLite URI this creates the
    database and runs MLflow's migrations, with MLflow's default artifact root, exactly as
    the first call of any client would. MLflow caches the store, so the client that follows
    in this process reuses it.

    Why: two first runs at once on a new SQLite file both migrated it and died, or left it
    half-migrated (``_alembic_tmp_...``); we build the store under a file lock first
    (pd_lib.mlflow_layer.store.prepare_store). Breaks: the first run on a new SQLite store
    (an AttributeError from this function names the moved helper).
    """
    from mlflow.tracking._tracking_service.utils import _get_store

    _get_store(uri)


def fill_installed_package_map() -> None:
    """Build MLflow's map of the installed distributions now, once per process.

    Why: every ``log_model`` compares the model's requirements with this environment, and
    the first comparison in a process builds that map with
    ``importlib.metadata.packages_distributions()``, reading every installed package's
    records: 1.4 s of each train and tune on this project's environment. The step server
    builds it while main starts (:mod:`pd_lib.mlflow_layer.runner.preload`), so the
    background step's copy is ready. Breaks: nothing but that time, back on tune's path.
    """
    from mlflow.utils import requirements_utils

    requirements_utils._init_modules_to_packages_map()


def forget_active_experiment() -> None:
    """Drop the experiment id the fluent API cached from a previous tracking store.

    Why: one test process switches between temporary stores; a cached id from the last one
    makes ``start_run`` look for an experiment that does not exist in the new one. Breaks:
    the end-to-end tests' store fixture.
    """
    import mlflow.tracking.fluent as fluent

    fluent._active_experiment_id = None


def get_app_client(app_name: str, tracking_uri: str) -> Any:
    """The client of an ``mlflow server --app-name`` plug-in (``basic-auth``: users and
    permissions). Why: the team server's tests create users and grant permissions. Breaks:
    those tests (the server itself does not use it)."""
    from mlflow.server import get_app_client as app_client

    return app_client(app_name, tracking_uri=tracking_uri)


@dataclass(frozen=True)
class KubernetesBackend:
    """What ``mlflow run --backend kubernetes`` does with our deploy/kubernetes files.

    Why: the tests check the committed backend config, Docker project and Job template with
    MLflow's own parser and Job builder, without a cluster. Breaks: those tests, and with them
    the documented Kubernetes route.
    """

    parse_config: Callable[[dict], dict]
    load_project: Callable[[str], Any]
    validate_docker_env: Callable[[Any], None]
    entry_point_command: Callable[..., str]
    run_env_vars: Callable[..., dict]
    job_definition: Callable[..., dict]
    run_command: Callable[[str], list]


def kubernetes_backend() -> KubernetesBackend:
    """MLflow's Kubernetes backend functions (needs the kubernetes and docker packages)."""
    from mlflow.projects import _parse_kubernetes_config
    from mlflow.projects import kubernetes as kube
    from mlflow.projects._project_spec import load_project
    from mlflow.projects.docker import validate_docker_env
    from mlflow.projects.utils import get_entry_point_command, get_run_env_vars

    return KubernetesBackend(_parse_kubernetes_config, load_project, validate_docker_env,
                             get_entry_point_command, get_run_env_vars,
                             kube._get_kubernetes_job_definition, kube._get_run_command)


def parse_kubernetes_config(config: dict) -> dict:
    """``mlflow run``'s parse of a Kubernetes backend config (without importing the
    kubernetes package); raises ExecutionException for a config MLflow refuses."""
    from mlflow.projects import _parse_kubernetes_config

    return _parse_kubernetes_config(config)
