"""TreeEncoder gives trees the same numbers as the ColumnTransformer it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pd_lib.data.schema import feature_columns
from pd_lib.data.sources import make_classification_loans
from pd_lib.data.synthetic import synthetic_loan_book
from pd_lib.modelling.features import MISSING_CATEGORY, TreeEncoder, build_preprocessor


def _reference(X: pd.DataFrame) -> object:
    return build_preprocessor(X, scale=False, one_hot=False).fit(X)


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    frame = synthetic_loan_book(3000, 0.1, seed=5)
    return frame[feature_columns(frame)]


def test_same_numbers_as_imputer_and_ordinal_encoder(book):
    assert book.isna().any().any()  # the synthetic book has missing values to impute
    scored = book.copy()
    categorical = [c for c in book.columns if not pd.api.types.is_numeric_dtype(book[c])]
    scored.loc[scored.index[:7], categorical[0]] = "never_seen_in_training"
    scored.loc[scored.index[7:9], categorical[-1]] = None
    encoder = TreeEncoder().fit(book)
    for frame in (book, scored, scored.iloc[[0]], scored.iloc[[8]]):
        np.testing.assert_array_equal(encoder.transform(frame), _reference(book).transform(frame))
    assert (encoder.transform(scored.iloc[:7])[:, len(encoder.numeric_)] == -1).all()


def test_all_missing_and_boolean_columns():
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "empty": [np.nan] * 4,
                      "flag": [True, False, True, True], "kind": ["b", None, "a", "b"]})
    encoder = TreeEncoder().fit(X)
    assert encoder.categorical_ == ["flag", "kind"]
    np.testing.assert_array_equal(encoder.transform(X), _reference(X).transform(X))
    assert list(encoder.categories_[1]) == sorted(["a", "b", MISSING_CATEGORY])


def test_make_classification_loans_have_no_categories():
    loans = make_classification_loans(200, 4, 0.2, seed=1)
    X = loans[feature_columns(loans)]
    encoder = TreeEncoder().fit(X)
    assert encoder.categorical_ == []
    np.testing.assert_array_equal(encoder.transform(X), X.to_numpy(dtype=float))
