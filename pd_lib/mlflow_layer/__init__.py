"""The MLflow layer, the only one that imports MLflow. Four concept packages on a shared base:

- ``runner``: main's chain of steps, run reuse, the in-process and background runners.
- ``building``: the runs that build a model version: train and tune (training data, fit,
  model and evaluation logging), tuning, reproduce.
- ``governance``: the registry, the champion gate and its report, the promote lock,
  promotion as a recoverable transaction, and the check that a version's model loads.
- ``scoring``: using a version: batch scoring (pandas, Spark), the REST server, monitoring.

The base, used by all four: ``artifacts``, ``step_runs`` (the run a step logs to),
``store`` (a SQLite store prepared), ``fingerprint`` (code fingerprint, git commit),
``run_params`` and ``run_lookup`` (a step's parameters logged, a run found by id),
``log_setup`` (a step's logging), ``scoring_model`` (a version pinned, its input
contract), ``pd_flavor`` (how a model is saved and loaded; its path is written in every
logged model), ``team_server`` and
``mlflow_internals`` (every non-public MLflow name). Packages import the base and sideways
only one way: runner -> governance, building -> runner and governance,
scoring -> governance (tests/unit/test_layers.py).

Its modules and packages are listed in ``__all__`` (tests/unit/test_layers.py keeps the lists
current); import them by name, e.g. ``from pd_lib.mlflow_layer.governance import registry``.
"""

__all__ = [
    "artifacts",
    "building",
    "fingerprint",
    "governance",
    "log_setup",
    "mlflow_internals",
    "pd_flavor",
    "run_lookup",
    "run_params",
    "runner",
    "scoring",
    "scoring_model",
    "step_runs",
    "store",
    "team_server",
]
