"""Preprocessing as a scikit-learn transformer: imputation and categorical encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    SplineTransformer,
    StandardScaler,
)

from pd_lib.data.schema import feature_columns


def split_feature_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature names of ``X`` (bools count as categorical)."""
    features = feature_columns(X)
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(X[c].dtype)
               and not pd.api.types.is_bool_dtype(X[c].dtype)]
    categorical = [c for c in features if c not in numeric]
    return numeric, categorical


SPLINE_KNOTS = 5


def build_preprocessor(X: pd.DataFrame, scale: bool, one_hot: bool, splines: bool = False
                       ) -> ColumnTransformer:
    """Median-impute numeric columns (optionally scaled) and encode categorical ones.

    Trees get ordinal codes (compact, fast); linear models get one-hot columns. With
    ``splines`` each numeric column becomes a cubic B-spline basis on SPLINE_KNOTS quantile
    knots (flat beyond the data) plus an indicator of its missing values: an additive model
    that bends where the log-odds bend (a hinge, a U shape, a logarithm).
    """
    numeric, categorical = split_feature_kinds(X)
    numeric_steps = [SimpleImputer(strategy="median", keep_empty_features=True,
                                   add_indicator=splines)]
    if splines:
        numeric_steps.append(SplineTransformer(n_knots=SPLINE_KNOTS, degree=3, knots="quantile",
                                               extrapolation="constant"))
    if scale:
        numeric_steps.append(StandardScaler())
    if one_hot:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
        )
    categorical_steps = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True),
        encoder,
    )
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric_steps), numeric),
            ("categorical", categorical_steps, categorical),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )


MISSING_CATEGORY = "missing"


class TreeEncoder(TransformerMixin, BaseEstimator):
    """Median-imputed numeric columns, then ordinal codes of the categorical ones, for trees.

    The same numbers as ``build_preprocessor(X, scale=False, one_hot=False)`` (missing
    categories become the category "missing", unknown ones -1, an all-missing numeric column
    0), computed with numpy: about 0.3 ms for one row instead of ~9 ms, because scikit-learn's
    ColumnTransformer validates each of its five parts on every call. That was most of the
    time of a served one-row prediction.
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> TreeEncoder:
        """Learn the numeric medians and the sorted categories of ``X``'s feature columns."""
        self.numeric_, self.categorical_ = split_feature_kinds(X)
        self.feature_names_in_ = np.asarray(self.numeric_ + self.categorical_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.medians_ = np.array([_median(column) for column in _numbers(X, self.numeric_).T])
        self.categories_ = [np.unique(_labels(X[c])) for c in self.categorical_]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """A float array: the numeric columns, imputed, then the categorical codes."""
        numbers = _numbers(X, self.numeric_)
        numbers = np.where(np.isnan(numbers), self.medians_, numbers)
        codes = [_codes(_labels(X[c]), cats)
                 for c, cats in zip(self.categorical_, self.categories_, strict=True)]
        return np.column_stack([numbers, *codes]) if codes else numbers

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names: the numeric features, then the categorical ones."""
        return self.feature_names_in_


def _numbers(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as one float array (column by column: cheaper than X[columns] for a row)."""
    if not columns:
        return np.empty((len(X), 0))
    return np.column_stack([X[c].to_numpy(dtype=float, na_value=np.nan) for c in columns])


def _median(column: np.ndarray) -> float:
    """The median of the known values; 0 for a column with none (SimpleImputer's choice)."""
    known = column[~np.isnan(column)]
    return float(np.median(known)) if known.size else 0.0


def _labels(column: pd.Series) -> np.ndarray:
    """Category labels as a string array, missing ones as MISSING_CATEGORY."""
    values = column.to_numpy(dtype=object)
    return np.where(pd.isna(values), MISSING_CATEGORY, values).astype(str)


def _codes(labels: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Position of each label in the sorted ``categories``; -1 for a label not among them."""
    if not categories.size:
        return np.full(labels.shape, -1.0)
    position = np.searchsorted(categories, labels).clip(max=categories.size - 1)
    return np.where(categories[position] == labels, position, -1).astype(float)
