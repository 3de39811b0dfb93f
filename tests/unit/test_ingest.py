"""Reading users' loan files: the canonical schema for good files, one clear line for bad ones."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from pd_lib.config import DATE_COL, DATE_DTYPE, ID_COL, TARGET_COL
from pd_lib.data.ingest import (
    mixed_text_counts,
    numeric_text_values,
    parse_label_map,
    read_loan_file,
)
from pd_lib.data.sources import load_loans
from pd_lib.errors import PipelineError
from tests.helpers import PROJECT_ROOT
from tests.ingest_cases import BAD_INPUTS, GOOD_PARAMS, good_frame, make_bad_file, params_for

GERMAN_CREDIT = PROJECT_ROOT / "data" / "german_credit.csv"


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_is_refused_with_one_clear_line(case, tmp_path):
    path = make_bad_file(case, tmp_path)
    with pytest.raises(PipelineError) as caught:
        read_loan_file(str(path), **params_for(case))
    message = str(caught.value)
    assert case.message in message
    assert "\n" not in message
    if not case.name.startswith("bad label_map"):
        assert message.startswith(f"{path}: ")


def test_good_file_gets_the_canonical_schema(tmp_path):
    path = tmp_path / "loans.csv"
    good_frame().to_csv(path, index=False)
    frame = read_loan_file(str(path), **GOOD_PARAMS)
    assert list(frame.columns) == [ID_COL, DATE_COL, "income", "grade", TARGET_COL]
    assert frame[ID_COL].tolist() == good_frame()["application_id"].tolist()
    assert frame[DATE_COL].dtype == DATE_DTYPE
    assert frame[DATE_COL].iloc[1] == pd.Timestamp("2021-02-01")
    assert frame[TARGET_COL].dtype == np.int64
    assert frame[TARGET_COL].tolist() == good_frame()["bad_flag"].astype(int).tolist()


def test_german_credit_loads_with_1000_rows_and_30_percent_bad():
    frame = load_loans(str(GERMAN_CREDIT), 0, 0, 0.0, 0, target="creditability",
                       label_map="bad=1,good=0")
    assert len(frame) == 1000
    assert frame[TARGET_COL].mean() == pytest.approx(0.3)
    assert frame[ID_COL].tolist() == list(range(1, 1001))
    assert "creditability" not in frame.columns
    assert frame.shape[1] == 22  # 20 attributes + loan_id + default
    assert pd.api.types.is_string_dtype(frame["purpose"])
    # integer features are stored as float64 so signatures say double (NaN-safe at scoring)
    assert frame["credit_amount"].dtype == "float64"
    assert (frame["credit_amount"] % 1 == 0).all()


@pytest.mark.parametrize("labels,label_map,expected", [
    ([True, False, False, True], "", [1, 0, 0, 1]),
    ([1.0, 0.0, 0.0, 1.0], "", [1, 0, 0, 1]),
    (["true", "FALSE", "False", "True"], "", [1, 0, 0, 1]),
    (["bad", " good", "good ", "bad"], "bad=1,good=0", [1, 0, 0, 1]),
    (["Charged Off", "Fully Paid", "Current", "Default"],
     "Charged Off=1, Default=1, Fully Paid=0, Current=0", [1, 0, 0, 1]),
    ([2, 1, 1, 2], "2=1,1=0", [1, 0, 0, 1]),  # UCI's own coding: 1 good, 2 bad
])
def test_label_spellings(labels, label_map, expected, tmp_path):
    frame = good_frame(40)
    frame["bad_flag"] = labels * 10
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    result = read_loan_file(str(path), target="bad_flag", label_map=label_map)
    assert result[TARGET_COL].tolist() == expected * 10


def test_a_few_missing_labels_are_dropped_and_logged(tmp_path, caplog):
    frame = good_frame()
    frame["bad_flag"] = frame["bad_flag"].astype(object)
    frame.loc[[0, 5, 6], "bad_flag"] = None
    path = tmp_path / "some_missing.csv"
    frame.to_csv(path, index=False)
    with caplog.at_level(logging.WARNING, logger="pd_pipeline"):
        result = read_loan_file(str(path), **GOOD_PARAMS)
    assert len(result) == len(frame) - 3
    assert "A0005" not in result[ID_COL].tolist()
    assert "dropped 3 of 40 rows with no label in column 'bad_flag'" in caplog.text


def test_without_an_id_column_rows_are_numbered(tmp_path):
    path = tmp_path / "noid.csv"
    good_frame().drop(columns=["application_id"]).to_csv(path, index=False)
    result = read_loan_file(str(path), target="bad_flag")
    assert result[ID_COL].tolist() == list(range(1, 41))
    assert DATE_COL not in result.columns  # "opened" is not used unless date_col names it


def test_existing_canonical_columns_are_used_as_they_are(tmp_path):
    frame = good_frame().rename(columns={"application_id": ID_COL, "opened": DATE_COL,
                                         "bad_flag": TARGET_COL})
    path = tmp_path / "canonical.csv"
    frame.to_csv(path, index=False)
    result = read_loan_file(str(path))
    assert result[ID_COL].tolist() == frame[ID_COL].tolist()
    assert result[DATE_COL].dtype == DATE_DTYPE


def test_conflicting_default_column_is_refused(tmp_path):
    frame = good_frame()
    frame[TARGET_COL] = 0
    path = tmp_path / "two_targets.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(PipelineError, match="has both a 'default' column and the target"):
        read_loan_file(str(path), target="bad_flag")


def test_parquet_keeps_categories_and_dates(tmp_path):
    frame = good_frame()
    frame["grade"] = frame["grade"].astype("category")
    frame["opened"] = pd.to_datetime(frame["opened"])
    frame["income"] = frame["income"].astype(float)
    frame.loc[3, "income"] = np.nan
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path, index=False)
    result = read_loan_file(str(path), **GOOD_PARAMS)
    assert isinstance(result["grade"].dtype, pd.CategoricalDtype)
    assert result[DATE_COL].dtype == DATE_DTYPE
    assert result["income"].isna().sum() == 1
    assert result[TARGET_COL].tolist() == frame["bad_flag"].astype(int).tolist()


@pytest.mark.parametrize("values,bad", [
    (["1", "2", "3", "4", "x"], ["x"]),
    (["1.5", "2e3", "-3", "4", "5", "n/a?", "7", "8", "9", "10"], ["n/a?"]),
    (["A", "B", "C", "1"], None),  # mostly text: a genuine categorical column
    (["1", "2", "3"], None),  # all numbers stored as text: nothing to complain about
    ([None, None, "x"], None),
])
def test_numeric_text_detection(values, bad):
    assert numeric_text_values(pd.Series(values, dtype="str")) == bad


@pytest.mark.parametrize("values,expected", [
    (["unknown"] * 6 + ["1", "2", "3", "4", "5"], (["unknown"], 6, 5)),  # issue 29
    (["x", "y"] * 4 + ["10", "20", "30", "40", "50", "60"], (["x", "y"], 8, 6)),
    (["A", "B", "C", "1"], None),  # a categorical with a number among its codes
    (["x"] * 10 + ["1", "2", "3", "4"], None),  # four numbers: still codes
    (["1", "2", "3", "4", "5", "x"], None),  # mostly numbers: numeric_text_values' case
])
def test_mixed_text_detection(values, expected):
    assert mixed_text_counts(pd.Series(values, dtype="str")) == expected


def test_numeric_text_ignores_numbers():
    assert numeric_text_values(pd.Series([1.0, np.nan, 3.0])) is None


def test_parse_label_map():
    assert parse_label_map("bad=1,good=0") == {"bad": 1, "good": 0}
    assert parse_label_map(" a = 1 , b=0, c=0") == {"a": 1, "b": 0, "c": 0}
    with pytest.raises(PipelineError, match="must map at least one value to 1"):
        parse_label_map("bad=1,worse=1")
    with pytest.raises(PipelineError, match="'bad' is mapped to both 0 and 1"):
        parse_label_map("bad=1,bad=0")
    with pytest.raises(PipelineError, match="'bad=yes' is not value=0 or value=1"):
        parse_label_map("bad=yes,good=0")


def test_na_tokens_are_counted_per_column_and_reach_the_data_summary(tmp_path):
    """pandas reads 'n/a', 'NULL', 'NA', 'None' as missing; say so (issue 14)."""
    from pd_lib.data.schema import data_summary

    frame = good_frame()
    frame["income"] = frame["income"].astype(object)
    frame.loc[[1, 2], "income"] = "n/a"
    frame.loc[[3], "income"] = "NULL"
    frame.loc[[4], "grade"] = "None"
    frame.loc[[5], "grade"] = "NA"
    path = tmp_path / "tokens.csv"
    frame.to_csv(path, index=False)
    loans = read_loan_file(str(path), **GOOD_PARAMS)
    expected = {"income": {"n/a": 2, "NULL": 1}, "grade": {"None": 1, "NA": 1}}
    assert data_summary(loans)["read_as_missing"] == expected
    assert loans["income"].isna().sum() == 3


def test_a_clean_file_reports_nothing_read_as_missing(tmp_path):
    from pd_lib.data.schema import data_summary

    path = tmp_path / "clean.csv"
    good_frame().to_csv(path, index=False)
    assert data_summary(read_loan_file(str(path), **GOOD_PARAMS))["read_as_missing"] == {}
