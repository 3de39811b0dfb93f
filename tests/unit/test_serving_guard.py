"""The serving guard's decision (pd_lib.mlflow_layer.scoring.serving.request_refusal): which
/invocations bodies MLflow's scoring app must not see, and which pass on untouched."""

from __future__ import annotations

import json

import pytest

from pd_lib.mlflow_layer.scoring.serving import DEEP_ENOUGH_TO_CHECK, request_refusal

SPLIT = json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}).encode()


@pytest.mark.parametrize(("body", "content_type"), [
    (SPLIT, "application/json"),
    (b"a,b\n1,2\n", "text/csv"),
    (b"{not json", "application/json"),  # MLflow answers these with a short 400 itself
    (b"", "application/json"),
    (b"[" * 800 + b"]" * 800, "application/json"),  # deep, but json.loads parses it
    (json.dumps({"dataframe_records": [{"a": i} for i in range(2000)]}).encode(),
     "application/json"),  # many brackets, shallow: parsed, passed
])
def test_bodies_mlflow_answers_well_pass(body, content_type):
    assert request_refusal(body, content_type) is None


def test_json_too_deep_for_the_parser_is_refused():
    deep = b"[" * 100_000 + b"]" * 100_000
    assert "nested too deeply" in request_refusal(deep, "application/json")


def test_an_empty_csv_is_refused_whatever_its_charset():
    for body in (b"", b" \n\r\n"):
        assert "CSV body is empty" in request_refusal(body, "text/csv; charset=utf-8")


def test_few_brackets_are_never_parsed():
    """Below the threshold a body cannot overflow the parser: it is passed without parsing
    (a malformed one too, for MLflow to answer)."""
    body = b"[" * (DEEP_ENOUGH_TO_CHECK - 1) + b"oops"
    assert request_refusal(body, "application/json") is None
