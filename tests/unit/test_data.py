"""pd_lib.data: the tutorial's data, parameter checks, schema helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from pd_lib.config import ID_COL, TARGET_COL, TRUE_PD_COL
from pd_lib.data.schema import (
    check_generate_params,
    check_training_frame,
    data_summary,
    feature_columns,
    sha256_of_file,
    write_parquet,
)
from pd_lib.data.sources import make_classification_loans
from pd_lib.errors import PipelineError


def test_make_classification_is_reproducible_to_the_byte(tmp_path):
    paths = []
    for name in ("a", "b"):
        frame = make_classification_loans(500, 5, 0.2, seed=3)
        paths.append(tmp_path / f"{name}.parquet")
        write_parquet(frame, paths[-1])
    assert sha256_of_file(paths[0]) == sha256_of_file(paths[1])
    other = make_classification_loans(500, 5, 0.2, seed=4)
    write_parquet(other, tmp_path / "c.parquet")
    assert sha256_of_file(tmp_path / "c.parquet") != sha256_of_file(paths[0])


def test_make_classification_has_the_schema_and_rate():
    frame = make_classification_loans(4000, 8, 0.15, seed=1)
    assert list(frame.columns[:1]) == [ID_COL]
    assert frame[ID_COL].is_unique
    assert set(frame[TARGET_COL].unique()) == {0, 1}
    assert abs(frame[TARGET_COL].mean() - 0.15) < 0.02
    assert len(feature_columns(frame)) == 8


def test_feature_columns_exclude_id_target_and_true_pd():
    frame = pd.DataFrame({ID_COL: [1], "x": [0.1], TARGET_COL: [0], TRUE_PD_COL: [0.2],
                          "origination_date": [pd.Timestamp("2020-01-01")]})
    assert feature_columns(frame) == ["x"]


@pytest.mark.parametrize(
    ("n_samples", "default_rate", "needle"),
    [(0, 0.1, "n_samples must be at least"), (-5, 0.1, "got -5"), (10, 0.1, "got 10"),
     (1000, 0.0, "default_rate must be strictly between 0 and 1"), (1000, 1.2, "got 1.2")],
)
def test_generate_params_are_checked(n_samples, default_rate, needle):
    with pytest.raises(PipelineError, match=needle):
        check_generate_params(n_samples, default_rate)


def test_training_frame_needs_two_classes():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], TARGET_COL: [0, 0, 0]})
    with pytest.raises(PipelineError, match="must hold both 0 and 1; found \\[0\\]"):
        check_training_frame(frame, "loans.parquet")


def test_data_summary_counts_missing_and_rate():
    frame = pd.DataFrame({"x": [1.0, None, 3.0, None], TARGET_COL: [0, 1, 0, 0]})
    summary = data_summary(frame)
    assert summary["rows"] == 4
    assert summary["missing"] == {"x": 2}
    assert summary["default_rate"] == pytest.approx(0.25)


def test_integer_features_are_stored_as_float_but_id_and_target_are_not():
    from pd_lib.data.schema import integer_features_as_float

    frame = pd.DataFrame({ID_COL: [1, 2], "open_accounts": [3, 4], "grade": ["a", "b"],
                          TARGET_COL: [0, 1]})
    out = integer_features_as_float(frame)
    assert out["open_accounts"].dtype == "float64"
    assert out[ID_COL].dtype == "int64" and out[TARGET_COL].dtype == "int64"
    assert out["grade"].tolist() == ["a", "b"]
