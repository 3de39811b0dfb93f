"""Where models saved before pd_lib had layers find TreeEncoder (skops records the module path).

See :mod:`pd_lib.pd_model`. The class lives in :mod:`pd_lib.modelling.features`.
"""

from pd_lib.modelling.features import TreeEncoder  # noqa: F401  (re-exported for old models)
