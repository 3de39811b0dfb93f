"""The synthetic loan book: its documented data-generating process, checked property by property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from pd_lib.config import DATE_COL, ID_COL, TARGET_COL, TRUE_PD_COL
from pd_lib.data.schema import feature_columns, sha256_of_file, write_parquet
from pd_lib.data.sources import load_loans
from pd_lib.data.synthetic import (
    HOME_OWNERSHIP,
    N_VINTAGES,
    PURPOSES,
    pd_score,
    solve_intercept,
    synthetic_loan_book,
)
from pd_lib.errors import PipelineError
from pd_lib.modelling.factory import build_model


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return synthetic_loan_book(5_000, 0.1, 3)


@pytest.mark.parametrize("default_rate", [0.03, 0.1, 0.25])
def test_realised_default_rate_is_within_half_a_point_at_50k(default_rate):
    book = synthetic_loan_book(50_000, default_rate, 11)
    assert book[TRUE_PD_COL].mean() == pytest.approx(default_rate, abs=1e-9)
    assert abs(book[TARGET_COL].mean() - default_rate) < 0.005


def test_default_is_drawn_from_true_pd():
    """Binned by true PD, the observed default rate tracks the mean true PD (calibration)."""
    book = synthetic_loan_book(50_000, 0.1, 5)
    bins = pd.qcut(book[TRUE_PD_COL], 10)
    grouped = book.groupby(bins, observed=True).agg(pd_=(TRUE_PD_COL, "mean"),
                                                    rate=(TARGET_COL, "mean"),
                                                    n=(TARGET_COL, "size"))
    tolerance = 4 * np.sqrt(grouped.pd_ * (1 - grouped.pd_) / grouped.n)
    assert ((grouped.rate - grouped.pd_).abs() < tolerance).all()


def test_same_parameters_give_byte_identical_parquet(tmp_path):
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"]
    write_parquet(synthetic_loan_book(2_000, 0.1, 42), paths[0])
    write_parquet(synthetic_loan_book(2_000, 0.1, 42), paths[1])
    write_parquet(synthetic_loan_book(2_000, 0.1, 43), paths[2])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sha256_of_file(paths[0]) == sha256_of_file(paths[1])
    assert sha256_of_file(paths[0]) != sha256_of_file(paths[2])


def test_parquet_round_trip_keeps_dtypes_and_values(book, tmp_path):
    path = tmp_path / "book.parquet"
    write_parquet(book, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), book)


def test_schema_categoricals_and_missing_values(book):
    assert book[ID_COL].is_unique
    assert pd.api.types.is_datetime64_any_dtype(book[DATE_COL])
    assert set(book["home_ownership"].unique()) <= set(HOME_OWNERSHIP)
    assert set(book["purpose"].unique()) == set(PURPOSES)
    for column in ("home_ownership", "purpose"):
        assert pd.api.types.is_string_dtype(book[column])
    for column in ("annual_income", "employment_length", "credit_utilisation"):
        assert 0 < book[column].isna().mean() < 0.15, column
    assert book[TARGET_COL].isin([0, 1]).all()
    assert book[TRUE_PD_COL].between(0, 1, inclusive="neither").all()


def test_vintages_are_monthly_over_six_years(book):
    dates = book[DATE_COL]
    assert (dates.dt.day == 1).all()
    assert dates.nunique() == N_VINTAGES
    assert dates.min() == pd.Timestamp("2019-01-01")
    assert dates.max() == pd.Timestamp("2024-12-01")
    assert dates.is_monotonic_increasing  # ids follow origination order


def test_features_are_correlated_as_documented(book):
    corr = book.corr(numeric_only=True)
    assert corr.loc["age", "credit_history_length"] > 0.5
    assert corr.loc["annual_income", "loan_amount"] > 0.5
    assert corr.loc["interest_rate", TRUE_PD_COL] > 0.5
    assert corr.loc["delinquencies", TRUE_PD_COL] > 0.3
    by_term = book.groupby("term")["loan_amount"].mean()
    assert by_term[60] > by_term[36]


def test_true_pd_is_a_function_of_the_recorded_columns(book):
    """logit(true_pd) - score(recorded columns) is one constant: the solved intercept."""
    logit = np.log(book[TRUE_PD_COL] / (1 - book[TRUE_PD_COL]))
    intercept = logit - pd_score(book)
    assert intercept.max() - intercept.min() < 1e-8
    assert intercept.iloc[0] == pytest.approx(solve_intercept(pd_score(book), 0.1), abs=1e-8)


def _borrower(**changes) -> pd.DataFrame:
    row = {
        "credit_utilisation": 0.5, "annual_income": 50_000.0, "employment_length": 10.0,
        "debt_to_income": 15.0, "term": 36, "delinquencies": 0, "age": 40,
        "installment": 0.0, "interest_rate": 12.0, "inquiries": 0,
        "credit_history_length": 0.0, "open_accounts": 5, "home_ownership": "RENT",
        "purpose": "credit_card",
    }
    return pd.DataFrame([{**row, **changes}])


def test_score_of_a_hand_computed_borrower():
    # 0.035 * 15 (dti) + 0.6 * 0.5 (util) - 0.04 * 10 (employment) = 0.425; every other
    # term is zero for this borrower by construction.
    assert pd_score(_borrower())[0] == pytest.approx(0.425)
    # Missing utilisation counts as 0 plus a 0.2 flag; missing income as 50,000 plus 0.3.
    assert pd_score(_borrower(credit_utilisation=np.nan))[0] == pytest.approx(0.425 - 0.3 + 0.2)
    assert pd_score(_borrower(annual_income=np.nan))[0] == pytest.approx(0.425 + 0.3)


def test_term_and_dti_interact():
    """The documented interaction: a 60-month term makes each DTI point cost 0.025 more."""
    def effect_of_dti(term: int) -> float:
        return float(pd_score(_borrower(term=term, debt_to_income=35.0))[0]
                     - pd_score(_borrower(term=term, debt_to_income=15.0))[0])

    assert effect_of_dti(36) == pytest.approx(0.035 * 20)
    assert effect_of_dti(60) - effect_of_dti(36) == pytest.approx(0.025 * 20)


def test_utilisation_hinge_is_nonlinear():
    step = [float(pd_score(_borrower(credit_utilisation=u))[0]) for u in (0.6, 0.7, 0.9, 1.0)]
    assert step[1] - step[0] == pytest.approx(0.06)
    assert step[3] - step[2] == pytest.approx(0.06 + 0.25)


@pytest.mark.parametrize("n_samples,default_rate,fragment", [
    (0, 0.1, "n_samples must be at least"),
    (-5, 0.1, "n_samples must be at least"),
    (10, 0.1, "n_samples must be at least"),
    (1_000, 0.0, "default_rate must be strictly between 0 and 1"),
    (1_000, 1.0, "default_rate must be strictly between 0 and 1"),
    (1_000, 1.5, "default_rate must be strictly between 0 and 1"),
])
def test_bad_generate_parameters_are_refused(n_samples, default_rate, fragment):
    with pytest.raises(PipelineError, match=fragment):
        synthetic_loan_book(n_samples, default_rate, 0)
    with pytest.raises(PipelineError, match=fragment):
        load_loans("synthetic", n_samples, 10, default_rate, 0)


def test_true_pd_and_ids_are_not_features(book):
    features = feature_columns(book)
    assert TRUE_PD_COL not in features
    assert {TARGET_COL, ID_COL, DATE_COL}.isdisjoint(features)
    assert {"annual_income", "purpose", "interest_rate"} <= set(features)
    model = build_model("logistic_regression", {}, book[features]).fit(
        book[features], book[TARGET_COL].to_numpy())
    assert TRUE_PD_COL not in list(model.pipeline_.feature_names_in_)


def test_boosted_model_gets_close_to_the_true_pd_auc():
    """On 20,000 loans, boosting on the features nearly matches the oracle on the same holdout."""
    book = synthetic_loan_book(20_000, 0.1, 2024)
    train, holdout = train_test_split(book, test_size=0.25, random_state=0,
                                      stratify=book[TARGET_COL])
    features = feature_columns(book)
    params = {"n_estimators": 300, "learning_rate": 0.05, "min_samples_leaf": 40, "max_depth": 3}
    model = build_model("hist_gradient_boosting", params, train[features], seed=0)
    model.fit(train[features], train[TARGET_COL].to_numpy())
    model_auc = roc_auc_score(holdout[TARGET_COL], model.predict_pd(holdout[features]))
    oracle_auc = roc_auc_score(holdout[TARGET_COL], holdout[TRUE_PD_COL])
    print(f"holdout AUC: model {model_auc:.4f}, true PD {oracle_auc:.4f}")
    assert 0.7 < oracle_auc < 0.9  # a realistic, not a trivial, problem
    assert model_auc <= oracle_auc + 0.01  # nothing beats the truth by more than noise
    assert oracle_auc - model_auc < 0.03
