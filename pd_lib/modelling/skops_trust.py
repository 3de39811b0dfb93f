"""The types skops may load from a saved PD model: those every PDModel holds, the legacy
paths of models logged before pd_lib had layers, and each kind's own (its row of
:data:`pd_lib.modelling.kinds.KINDS`)."""

from __future__ import annotations

from pd_lib.modelling.kinds import KINDS

# Types every saved PDModel holds, whatever its kind. LEGACY_TRUSTED_TYPES are where models
# logged before pd_lib had layers say these classes live (pd_lib/pd_model.py and
# pd_lib/features.py lead there), so old registered versions keep loading.
LEGACY_TRUSTED_TYPES = ("pd_lib.pd_model.PDModel", "pd_lib.features.TreeEncoder")
COMMON_TRUSTED_TYPES = (
    "pd_lib.modelling.pd_model.PDModel",
    "pd_lib.modelling.features.TreeEncoder",
    "pd_lib.modelling.blend.Blend",  # model=auto's blend of kinds (its members are PDModels)
    "numpy.dtype",
    "builtins.slice",
)


def trusted_types() -> list[str]:
    """Every type skops may load besides its own defaults: the common ones and each kind's.

    Every model we save is checked against this list at save time, so a new type fails
    loudly there.
    """
    kind_types = [t for kind in KINDS.values() for t in kind.trusted_types]
    return list(dict.fromkeys([*COMMON_TRUSTED_TYPES, *kind_types]))
