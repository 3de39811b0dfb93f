"""A kind's parameters: the checks that refuse unknown kinds and sizes that cannot be fitted,
and the resolution of the user's explicit parameters over the kind's size-aware defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pd_lib.errors import PipelineError
from pd_lib.modelling.calibration import check_method
from pd_lib.modelling.kinds import AUTO, KINDS

FLOAT_PARAMS = ("learning_rate", "C", "pdo", "base_points", "base_odds")


def _given(value: Any) -> bool:
    """Whether the user set ``value``: 0, None, "" and "None" mean the kind's default."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return True
    return not (math.isnan(number) or number == 0)


# Most trees (random forest) or boosting iterations (hist_gradient_boosting) a fit may ask for:
# an absurd n_estimators ran for minutes without a word on 3,000 loans (issue 29); up to this
# limit a long fit logs a progress line every 30 s (pd_lib.modelling.fitting.progress).
MAX_N_ESTIMATORS = 10_000


def check_model_params(model: str, params: Mapping[str, Any]) -> None:
    """Refuse unknown model kinds and sizes that cannot be fitted."""
    if model not in KINDS and model != AUTO:
        raise PipelineError(f"unknown model '{model}'; choose {AUTO} or one of "
                            f"{', '.join(KINDS)}.")
    for name in ("n_estimators", "max_depth", "min_samples_leaf", *FLOAT_PARAMS):
        value = params.get(name)
        if value in (None, "", "None", "none"):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PipelineError(f"{name} must be a number; got '{value}'.") from None
        if number < 0 or math.isnan(number):
            raise PipelineError(f"{name} must be >= 0 (0 = the model's default); got {value}.")
        if name == "n_estimators" and number > MAX_N_ESTIMATORS:
            raise PipelineError(f"n_estimators {value} is more than {MAX_N_ESTIMATORS:,} trees "
                                "(or boosting iterations); a forest gains nothing measurable "
                                f"past a few hundred: use at most {MAX_N_ESTIMATORS:,}.")
    if params.get("calibration") not in (None, ""):
        try:
            check_method(params["calibration"])
        except ValueError as exc:
            raise PipelineError(str(exc)) from None


def resolve_params(model: str, params: Mapping[str, Any], n_rows: int) -> dict[str, Any]:
    """The kind's defaults for ``n_rows`` training loans with the user's explicit, applicable
    parameters laid over them (0, None or "" keep the default)."""
    kind = KINDS[model]
    resolved = kind.defaults(max(int(n_rows), 1))
    for name in kind.tunable:
        if not _given(params.get(name)):
            continue
        value = float(params[name])
        resolved[name] = value if name in FLOAT_PARAMS else int(value)
        if name == "max_depth" and "max_leaf_nodes" in resolved:
            resolved["max_leaf_nodes"] = None  # an explicit depth is the user's tree size
    return resolved
