"""A model resolved to one version for scoring, and its input columns checked against the
model's signature before anything is scored (for pandas and Spark alike)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema

from pd_lib.config import ID_COL, PD_COL
from pd_lib.data.schema import numbers_as_float
from pd_lib.errors import PipelineError, first_line
from pd_lib.mlflow_layer.mlflow_internals import (
    any_column,
    model_implementation,
    model_name_and_version,
)
from pd_lib.mlflow_layer.pd_flavor import ReasonedPDModel, numeric_inputs
from pd_lib.modelling.reasons import reason_columns

RATING_COL = "rating"


MODEL_NAME_COL = "model_name"


MODEL_VERSION_COL = "model_version"


SCORED_COLUMNS = (ID_COL, PD_COL, RATING_COL, MODEL_NAME_COL, MODEL_VERSION_COL)


# MLflow signature types -> the kind of column that satisfies them.
SIGNATURE_KINDS = {
    "double": "numeric", "float": "numeric", "long": "numeric", "integer": "numeric",
    "Any": "numeric",  # our models' numeric inputs (numbers_accepted_as_any)
    "boolean": "bool", "string": "string", "datetime": "datetime", "binary": "binary",
}


@dataclass(frozen=True)
class ScoringModel:
    """A model resolved to one version: its pinned URI, name, version and signature."""

    uri: str
    name: str
    version: str
    signature: ModelSignature


def resolve_model(model_uri: str) -> ScoringModel:
    """Pin ``model_uri`` (models:/name@alias, models:/name/Stage, models:/name/3, runs:/...)
    to one version and read its signature; a clear error if it does not exist or has none."""
    uri, name, version = model_uri, model_uri, ""
    try:
        if model_uri.startswith("models:/"):
            resolved = model_name_and_version(MlflowClient(), model_uri)
            if len(resolved) == 2:
                name, version = resolved
                uri = f"models:/{name}/{version}"
        info = mlflow.models.get_model_info(uri)
        signature = info.signature
        inputs = None if signature is None else signature.inputs
    except (MlflowException, OSError) as exc:
        raise PipelineError(
            f"cannot find model '{model_uri}' ({first_line(exc)}); check the name, alias, stage "
            "or run id in mlflow ui (the champion exists only after a promote to Production)."
        ) from None
    except (yaml.YAMLError, TypeError, AttributeError, KeyError) as exc:
        # MLflow reads MLmodel with yaml.safe_load and indexes it as a dict
        raise PipelineError(
            f"the MLmodel file of model '{model_uri}' is damaged ({type(exc).__name__}: "
            f"{first_line(exc)}); the version's artifacts were changed after it was logged: "
            "register the train run again, or restore the file."
        ) from None
    if inputs is None:
        raise PipelineError(f"model '{model_uri}' has no input signature; score only models "
                            "logged by the train or tune step.")
    return ScoringModel(uri=uri, name=name, version=str(version), signature=signature)


def input_columns(signature: ModelSignature) -> list[tuple[str, str, bool]]:
    """(column, expected kind, required) per input of the signature."""
    columns = []
    for spec in signature.inputs.inputs:
        type_name = getattr(spec.type, "name", str(spec.type))
        columns.append((spec.name, SIGNATURE_KINDS.get(type_name, type_name),
                        getattr(spec, "required", True)))
    return columns


def input_differences(new: ModelSignature, old: ModelSignature) -> list[str]:
    """How the inputs of ``new`` differ from those of ``old``: the columns only one of them
    takes, and those of another kind; empty when they take the same columns."""
    new_kinds = {name: kind for name, kind, _ in input_columns(new)}
    old_kinds = {name: kind for name, kind, _ in input_columns(old)}
    differences = []
    if extra := [c for c in new_kinds if c not in old_kinds]:
        differences.append("new columns " + _some(extra))
    if missing := [c for c in old_kinds if c not in new_kinds]:
        differences.append("without " + _some(missing))
    if changed := [f"{c} ({old_kinds[c]} -> {new_kinds[c]})" for c in new_kinds
                   if c in old_kinds and new_kinds[c] != old_kinds[c]]:
        differences.append("other kinds " + _some(changed))
    return differences


def _some(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names, and how many more (an error line stays readable)."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def pandas_kind(dtype) -> str:
    """numeric, bool, string, datetime or other, for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "string"
    return "other"


def check_columns(kinds: Mapping[str, str], signature: ModelSignature, where: str) -> None:
    """Every required input of the signature is a column of ``kinds`` (column -> kind) of the
    right kind; else one line naming the columns and what the model expects."""
    missing = [name for name, _, required in input_columns(signature)
               if required and name not in kinds]
    if missing:
        raise PipelineError(
            f"{where} lacks column(s) {', '.join(missing)} that the model needs; score data with "
            "the columns the model was trained on (its signature is in mlflow ui)."
        )
    wrong = [f"{name} is {kinds[name]}, model expects {kind}"
             for name, kind, _ in input_columns(signature)
             if name in kinds and kinds[name] != kind]
    if wrong:
        raise PipelineError(f"{where} has mistyped column(s): {'; '.join(wrong)}; fix their "
                            "type in the file (e.g. numbers stored as text).")


def as_scoring_model(model: str | ScoringModel) -> ScoringModel:
    return model if isinstance(model, ScoringModel) else resolve_model(model)


def load_scoring_model(resolved: ScoringModel) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model of ``resolved``, or one line saying why its file does not load."""
    try:
        return mlflow.pyfunc.load_model(resolved.uri)
    except Exception as exc:  # any loader error (BadZipFile, skops, OSError) means broken
        raise PipelineError(
            f"the model {resolved.uri} does not load ({type(exc).__name__}: {first_line(exc)}); "
            "its file is damaged: promote a version whose model loads."
        ) from None


def signature_columns(signature: ModelSignature, columns) -> list[str]:
    """The signature's inputs that are among ``columns``, in the signature's order."""
    present = set(columns)
    return [name for name, _, _ in input_columns(signature) if name in present]


def model_inputs(model: mlflow.pyfunc.PyFuncModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` that the model's signature takes (all without one), so pyfunc
    does not warn about the others (a logged holdout's ids, flags and PDs)."""
    signature = model.metadata.signature
    if signature is None or signature.inputs is None:
        return frame
    return frame[signature_columns(signature, frame.columns)]



def numbers_accepted_as_any(signature: ModelSignature) -> ModelSignature:
    """``signature`` with its numeric inputs typed ``Any``: MLflow's own check refuses an
    int64 column for a ``double`` input ("Can not safely convert int64 to float64"), so a model
    trained from a CSV could not ``pyfunc.predict`` that CSV. The model's pyfunc converts and
    checks those columns itself (pd_lib.data.schema.numbers_as_float), naming the column."""
    numeric = set(numeric_inputs(signature))
    inputs = [any_column(spec.name, getattr(spec, "required", True))
              if spec.name in numeric else spec for spec in signature.inputs.inputs]
    return ModelSignature(inputs=Schema(inputs), outputs=signature.outputs,
                          params=signature.params)


def conform_to_signature(frame: pd.DataFrame, signature: ModelSignature) -> pd.DataFrame:
    """``frame`` with the signature's numeric inputs as float64, as training saw them (ingest
    stores a file's integer characteristics as float64), so the same file, or next month's in
    its format, scores as it trained; what cannot be is refused naming the column."""
    return numbers_as_float(frame, numeric_inputs(signature))


def checked_inputs(frame: pd.DataFrame, signature: ModelSignature) -> pd.DataFrame:
    """What MLflow's schema check gives a model: the signature's inputs of ``frame`` in its
    order (the other columns dropped), a missing or mistyped one refused naming it
    (:func:`check_columns`), numeric inputs as float64 (:func:`conform_to_signature`)."""
    check_columns({c: pandas_kind(t) for c, t in frame.dtypes.items()}, signature, "the data")
    names = [name for name, _, _ in input_columns(signature) if name in frame.columns]
    return conform_to_signature(frame[names], signature)


def refusal_cause(exc: Exception) -> str:
    """The cause in MLflow's schema refusal (the column and its types), not the first line,
    which ends inside a dump of the data frame."""
    text = str(exc)
    for pattern in (r"Incompatible input types for column [^.\n]+\.[^.\n]+\.",
                    r"Model is missing inputs[^\n]*", r"[^\n]*[Cc]an not safely convert[^\n]*"):
        found = re.search(pattern, text)
        if found:
            return found.group(0).strip()
    return first_line(exc)


def pyfunc_output(model: mlflow.pyfunc.PyFuncModel, features: pd.DataFrame, reasons: int = 0
                  ) -> pd.DataFrame:
    """The pyfunc model's output for ``features``: the ``pd`` column and, with reasons > 0,
    reason_1..reason_n (and a scorecard's ``score``).

    A model of our flavor is called past MLflow's schema check (:func:`checked_inputs`
    does its work, column by column instead of value by value: 10x faster on a large book,
    the same PDs); any other pyfunc model through ``predict``."""
    params = {"reasons": reasons} if reasons else None
    signature = model.metadata.signature
    implementation = model_implementation(model)
    try:
        if isinstance(implementation, ReasonedPDModel) and signature is not None \
                and signature.inputs is not None:
            output = implementation.predict(checked_inputs(features, signature), params)
        else:
            if signature is not None and signature.inputs is not None:
                features = conform_to_signature(features, signature)
            output = model.predict(features, params=params)
    except MlflowException as exc:  # the signature enforcement of pyfunc, or our model's
        raise PipelineError(f"the model refused the input: {refusal_cause(exc)}") from None
    if not isinstance(output, pd.DataFrame):
        output = pd.DataFrame({PD_COL: np.asarray(output, dtype=float)})
    if PD_COL not in output.columns:
        raise PipelineError(f"the model returns columns {list(output.columns)}, not '{PD_COL}';"
                            " score models logged by the train or tune step.")
    if reasons and reason_columns(reasons)[-1] not in output.columns:
        raise PipelineError("this model version gives no reason codes (it was logged before "
                            "they existed); retrain it, or score with reasons=0.")
    return output.reset_index(drop=True)
