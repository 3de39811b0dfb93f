"""Where models saved before pd_lib had layers find PDModel (skops records the module path).

Registered versions logged before the move name ``pd_lib.pd_model.PDModel`` in their files;
without this alias the gate could not score an old champion and ``score`` could not load it.
Nothing new imports from here: the class lives in :mod:`pd_lib.modelling.pd_model`.
"""

from pd_lib.modelling.pd_model import PDModel  # noqa: F401  (re-exported for old models)
