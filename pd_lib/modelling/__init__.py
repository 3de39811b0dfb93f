"""The modelling layer: the PD model and its features, the table of model kinds (their
parameters, monotone constraints, skops trust list and the factory that builds them), fitting,
model=auto's selection and blend, calibration, scorecards, reason codes, hyper-parameter
search, and the one module that touches scikit-learn's private names. Plain scikit-learn; no
MLflow.

Its modules are listed in ``__all__`` (tests/unit/test_layers.py keeps the list current);
import them by name, e.g. ``from pd_lib.modelling import blend``.
"""

__all__ = [
    "blend",
    "calibration",
    "factory",
    "features",
    "fitting",
    "kind_params",
    "kinds",
    "monotone",
    "pd_model",
    "reasons",
    "scorecard",
    "screening",
    "search",
    "selection",
    "sklearn_internals",
    "skops_trust",
]
