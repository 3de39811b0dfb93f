"""Monotone constraints: the ``monotone`` parameter parsed, HistGradientBoosting's
``monotonic_cst`` from it, and the constraints a fitted linear model's coefficients
contradict."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from pd_lib.errors import PipelineError
from pd_lib.modelling.pd_model import PDModel

_MONOTONE_ITEM = re.compile(r"^\s*([^=;]+?)\s*=\s*([+-]?1)\s*$")


def parse_monotone(spec: str) -> dict[str, int]:
    """``"dti=+1;income=-1"`` as {"dti": 1, "income": -1} (+1: PD rises with the feature)."""
    result: dict[str, int] = {}
    for item in (spec or "").split(";"):
        if not item.strip():
            continue
        match = _MONOTONE_ITEM.match(item)
        if not match:
            raise PipelineError(
                f"monotone: cannot read '{item.strip()}'; write feature=+1 (PD increases with "
                "it) or feature=-1 (PD decreases), separated by ';', e.g. 'dti=+1;income=-1'.")
        name, sign = match.group(1), int(match.group(2))
        if name in result:
            raise PipelineError(f"monotone: feature '{name}' is given twice.")
        result[name] = sign
    return result


def monotonic_cst(constraints: Mapping[str, int], numeric: list[str], categorical: list[str]
                  ) -> list[int] | None:
    """HistGradientBoosting's ``monotonic_cst`` in TreeEncoder's column order (numeric, then
    categorical); None without constraints. Unknown and categorical features are errors."""
    if not constraints:
        return None
    unknown = [c for c in constraints if c not in numeric and c not in categorical]
    if unknown:
        raise PipelineError(
            f"monotone: unknown feature(s) {', '.join(repr(c) for c in unknown)}; the numeric "
            f"features are {', '.join(numeric) or '(none)'}.")
    on_categories = [c for c in constraints if c in categorical]
    if on_categories:
        raise PipelineError(
            f"monotone: {', '.join(repr(c) for c in on_categories)} is categorical; a "
            "monotone constraint needs an ordered (numeric) feature.")
    return [constraints.get(c, 0) for c in numeric] + [0] * len(categorical)


def monotone_violations(coefficients: Mapping[str, float], constraints: Mapping[str, int]
                        ) -> dict[str, float]:
    """The constrained features whose coefficient has the wrong sign: {feature: coefficient}.
    A zero coefficient is not a violation."""
    return {name: float(coefficients[name]) for name, sign in constraints.items()
            if name in coefficients and coefficients[name] * sign < 0}


def linear_coefficients(model: PDModel) -> dict[str, float]:
    """Coefficient per numeric input feature of a fitted linear PDModel (standardised scale)."""
    preprocess, classifier = model.pipeline_[0], model.pipeline_[-1]
    names = list(preprocess.get_feature_names_out())
    return dict(zip(names, np.ravel(classifier.coef_).tolist(), strict=True))
