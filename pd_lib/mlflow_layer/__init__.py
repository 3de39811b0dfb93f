"""The MLflow layer, the only one that imports MLflow: runs and their reuse, artifacts, the
training and tuning runs, the registry, gate, lock and promotion, scoring (pandas, Spark),
monitoring, reproduce, the in-process and background runners, the team server, and
mlflow_internals (every non-public MLflow name).

Its modules are listed in ``__all__`` (tests/unit/test_layers.py keeps the list current);
import them by name, e.g. ``from pd_lib.mlflow_layer import artifacts``.
"""

__all__ = [
    "artifacts",
    "background",
    "gate",
    "gate_report",
    "inprocess",
    "lock",
    "mlflow_internals",
    "model_check",
    "monitoring",
    "pd_flavor",
    "pipeline",
    "promotion",
    "registry",
    "reproduce",
    "runs",
    "scoring",
    "scoring_model",
    "serving",
    "spark",
    "spark_monitoring",
    "step_modes",
    "team_server",
    "tracking",
    "training",
    "tuning",
    "writes",
]
