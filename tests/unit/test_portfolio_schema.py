"""One model name per portfolio: how two models' input columns differ, named in one line."""

from __future__ import annotations

from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from pd_lib.mlflow_layer.scoring_model import input_differences
from steps.generate import generate_run_name


def _signature(**columns: str) -> ModelSignature:
    return ModelSignature(inputs=Schema([ColSpec(kind, name) for name, kind in columns.items()]))


def test_same_columns_in_another_order_do_not_differ():
    assert input_differences(_signature(a="double", b="string"),
                             _signature(b="string", a="double")) == []


def test_new_missing_and_retyped_columns_are_named():
    new = _signature(a="double", b="double", c="string")
    old = _signature(a="double", b="string", d="long")
    assert input_differences(new, old) == ["new columns c", "without d",
                                           "other kinds b (string -> numeric)"]


def test_a_long_list_is_cut_with_a_count():
    new = _signature(a="double", **{f"x{i}": "double" for i in range(9)})
    (line,) = input_differences(new, _signature(a="double"))
    assert line == "new columns x0, x1, x2, x3, x4 and 4 more"


def test_generate_runs_are_named_for_their_source():
    assert generate_run_name("synthetic", 10000.0) == "generate-synthetic-10000"
    assert generate_run_name("data/german_credit.csv", 10000.0) == "generate-german_credit"
