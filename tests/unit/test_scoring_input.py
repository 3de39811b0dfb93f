"""The model's input contract takes the training file's format: integer columns of a CSV
score as the float64 ingest trained them as, against a signature that says double (older
models) or ``Any`` (numbers_accepted_as_any); only what is really incompatible is refused,
and a refusal names the column and the types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from pd_lib.data.schema import numbers_as_float
from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.pd_flavor import numeric_inputs
from pd_lib.mlflow_layer.scoring_model import (
    conform_to_signature,
    input_differences,
    numbers_accepted_as_any,
    refusal_cause,
)

TRAINED = pd.DataFrame({"age": [30.0, 41.0], "income": [1.5, 2.5], "purpose": ["car", "tv"]})
SIGNATURE = infer_signature(TRAINED)


def test_integer_columns_of_a_double_input_become_float():
    csv_like = pd.DataFrame({"age": np.array([30, 41], dtype=np.int64), "income": [1.5, 2.5],
                             "purpose": ["car", "tv"]})
    conformed = conform_to_signature(csv_like, SIGNATURE)
    assert conformed["age"].dtype == np.float64
    assert conformed["age"].tolist() == [30.0, 41.0]
    assert conformed["purpose"].tolist() == ["car", "tv"]
    assert conform_to_signature(TRAINED, SIGNATURE) is TRAINED  # nothing to change


def test_integers_a_double_cannot_hold_are_refused_by_name():
    huge = TRAINED.assign(age=np.array([2 ** 60, 1], dtype=np.int64))
    with pytest.raises(PipelineError, match="column age holds integers too large"):
        conform_to_signature(huge, SIGNATURE)


def test_the_refusal_names_the_column_and_the_types_not_a_frame_dump():
    message = ("Failed to enforce schema of data '      EDUCATION  MARRIAGE\n0   1   2\n' with "
               "schema '['EDUCATION': double]'. Error: Incompatible input types for column "
               "EDUCATION. Can not safely convert int64 to float64.")
    assert refusal_cause(MlflowException(message)) == (
        "Incompatible input types for column EDUCATION. Can not safely convert int64 to "
        "float64.")
    assert refusal_cause(MlflowException("something else\nmore")) == "something else"


def test_numeric_inputs_become_any_and_keep_their_kind_strings_and_params():
    signature = infer_signature(TRAINED.assign(flag=[True, False]), params={"reasons": 0})
    relaxed = numbers_accepted_as_any(signature)
    types = {spec.name: getattr(spec.type, "name", str(spec.type))
             for spec in relaxed.inputs.inputs}
    assert types == {"age": "Any", "income": "Any", "purpose": "string", "flag": "boolean"}
    assert numeric_inputs(relaxed) == numeric_inputs(signature) == ["age", "income"]
    assert relaxed.params == signature.params
    assert input_differences(relaxed, signature) == []  # an older double champion: same book


def test_numbers_as_float_converts_whole_numbers_flags_and_blanks_and_names_text():
    frame = pd.DataFrame({"age": np.array([30, 41], dtype=np.int64), "flag": [True, False],
                          "blank": [None, None], "purpose": ["car", "tv"]})
    converted = numbers_as_float(frame, ["age", "flag", "blank"])
    assert [str(converted[c].dtype) for c in ("age", "flag", "blank")] == ["float64"] * 3
    assert converted["purpose"].tolist() == ["car", "tv"]
    assert converted["age"].tolist() == [30.0, 41.0] and converted["flag"].tolist() == [1.0, 0.0]
    assert converted["blank"].isna().all()
    assert numbers_as_float(TRAINED, ["age", "income"]) is TRAINED
    with pytest.raises(PipelineError, match="column purpose holds .* the model takes numbers"):
        numbers_as_float(frame, ["purpose"])


def test_a_long_input_of_an_older_model_keeps_its_integers():
    """MLflow refuses float64 for a ``long`` input: conforming leaves such a column as it is."""
    signature = infer_signature(pd.DataFrame({"term": np.array([36, 60]), "income": [1.5, 2.5]}))
    frame = pd.DataFrame({"term": np.array([36, 60]), "income": np.array([1, 2])})
    conformed = conform_to_signature(frame, signature)
    assert conformed["term"].dtype == np.int64 and conformed["income"].dtype == np.float64
    assert numeric_inputs(signature) == ["income"]
