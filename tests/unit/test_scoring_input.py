"""The model's input contract takes the training file's format: integer columns of a CSV
score against a signature that says double (ingest trained them as float64); only what is
really incompatible is refused, and a refusal names the column and the types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from pd_lib.errors import PipelineError
from pd_lib.mlflow_layer.scoring_model import conform_to_signature, refusal_cause

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
