"""Preprocessing as a scikit-learn transformer: imputation and categorical encoding."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from pd_lib.data import feature_columns


def split_feature_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature names of ``X`` (bools count as categorical)."""
    features = feature_columns(X)
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(X[c].dtype)
               and not pd.api.types.is_bool_dtype(X[c].dtype)]
    categorical = [c for c in features if c not in numeric]
    return numeric, categorical


def build_preprocessor(X: pd.DataFrame, scale: bool, one_hot: bool) -> ColumnTransformer:
    """Median-impute numeric columns (optionally scaled) and encode categorical ones.

    Trees get ordinal codes (compact, fast); linear models get one-hot columns.
    """
    numeric, categorical = split_feature_kinds(X)
    numeric_steps = [SimpleImputer(strategy="median", keep_empty_features=True)]
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
