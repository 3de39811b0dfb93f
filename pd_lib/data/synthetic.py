"""A synthetic consumer loan book with a known true PD per loan.

The book looks like an unsecured personal-loan portfolio (LendingClub-like): monthly vintages
from January 2019 over six years, named borrower and loan features with realistic
distributions and correlations, some missing values, two categorical columns, and a
``true_pd`` column from a documented data-generating process (DGP). ``default`` is drawn from
``true_pd``. The full description, with the reasoning behind each choice, is in
``docs/synthetic_loan_book.md``; this docstring is the short form.

Features (two hidden borrower factors drive their correlations and are then thrown away:
``quality`` ~ N(0, 1), a credit-behaviour factor, and ``affluence`` ~ N(0, 1)):

- ``origination_date``: first day of one of 72 months from 2019-01, volume growing ~2% a month.
- ``age``: 21 + Gamma(3, 6) years, capped at 80.
- ``employment_length``: years in the current job, (age - 18) * Beta(1.5, 4); 6% missing
  (10% under 25).
- ``annual_income``: log-normal, rising with affluence, age (flattening after 45), job
  tenure and 3% a year of wage inflation; 2% missing.
- ``home_ownership``: RENT / MORTGAGE / OWN / OTHER, more owners among older, richer borrowers.
- ``purpose``: eight loan purposes; home improvement mostly among owners.
- ``loan_amount``: ~22% of income, varying by purpose, 1,000 to 40,000 in steps of 25.
- ``term``: 36 or 60 months; longer for larger loans, more common in later vintages.
- ``credit_history_length``: years since the first credit line, (age - 18) * Beta(4, 2).
- ``open_accounts``: Poisson, more with history and affluence.
- ``delinquencies`` (last 2 years) and ``inquiries`` (last 6 months): Poisson, rising as
  quality falls.
- ``credit_utilisation``: revolving balance / limit, 0 to 1.2; missing for borrowers with no
  open accounts and 2% at random.
- ``debt_to_income``: monthly debt payments / income in percent, 0 to 60.
- ``interest_rate``: the lender's price, from its own score of the observable risk, the term
  and a rate cycle (+2 points over the six years), with noise.
- ``installment``: the annuity payment for amount, rate and term.

True PD (the oracle: a function of the recorded columns only, so a model that sees every
feature can in principle reach its AUC). With ``util = credit_utilisation`` (0 where missing),
``income = annual_income`` (50,000 where missing), ``emp = employment_length`` (0 where
missing), ``pti = 12 * installment / income`` and ``long = term == 60``::

    logit(true_pd) = b0
        + 0.035 * debt_to_income
        + 0.6 * util + 2.5 * max(util - 0.8, 0)          # hinge: maxed-out cards
        + 0.2 * [utilisation missing]
        + 0.0012 * (age - 40) ** 2                       # U shape in age
        - 0.45 * log(income / 50,000) + 0.3 * [income missing]
        + 3.0 * pti                                      # payment burden
        + 0.05 * (interest_rate - 12)
        + 0.55 * min(delinquencies, 3) + 0.10 * min(inquiries, 6)
        - 0.30 * log(1 + credit_history_length)
        - 0.04 * min(emp, 10) + 0.25 * [employment missing]
        + 0.35 * [open_accounts <= 2]                    # thin file
        + HOME[home_ownership] + PURPOSE[purpose]
        + 0.30 * long + 0.025 * long * (debt_to_income - 15)   # interaction: term x DTI
        + 0.60 * [delinquencies > 0] * util                    # interaction: arrears x usage

    HOME = {RENT: 0, MORTGAGE: -0.15, OWN: -0.10, OTHER: 0.30}
    PURPOSE = {debt_consolidation: 0.10, credit_card: 0, home_improvement: -0.10, car: -0.20,
               medical: 0.25, small_business: 0.50, major_purchase: 0, other: 0.15}

``b0`` is solved with Brent's method so that the mean of ``true_pd`` over the book equals
``default_rate`` (to 1e-10), and ``default ~ Bernoulli(true_pd)`` independently per loan. The
realised rate then differs from ``default_rate`` only by binomial noise, standard deviation
sqrt(p (1 - p) / n): at most 0.22 percentage points at 50,000 loans.

Vintages drift (income, loan size, 60-month share and rates rise over time) while the PD
function stays fixed, so an out-of-time split sees population drift but no concept drift.
Every draw comes from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order: same
``(n_samples, default_rate, seed)``, same frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.optimize import brentq

from pd_lib.config import DATE_COL, DATE_DTYPE, ID_COL, SCENARIOS, TARGET_COL, TRUE_PD_COL
from pd_lib.data.schema import check_generate_params
from pd_lib.errors import PipelineError

FIRST_VINTAGE = "2019-01"
N_VINTAGES = 72
MONTHLY_VOLUME_GROWTH = 0.02

HOME_OWNERSHIP = ("RENT", "MORTGAGE", "OWN", "OTHER")
PURPOSES = (
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "car",
    "medical",
    "small_business",
    "major_purchase",
    "other",
)
HOME_EFFECT = {"RENT": 0.0, "MORTGAGE": -0.15, "OWN": -0.10, "OTHER": 0.30}
PURPOSE_EFFECT = {
    "debt_consolidation": 0.10,
    "credit_card": 0.0,
    "home_improvement": -0.10,
    "car": -0.20,
    "medical": 0.25,
    "small_business": 0.50,
    "major_purchase": 0.0,
    "other": 0.15,
}
# Base shares of each purpose (log scale) and its typical loan size relative to income.
PURPOSE_BASE_SHARE = np.log([0.45, 0.20, 0.07, 0.05, 0.04, 0.03, 0.06, 0.10])
PURPOSE_SIZE = np.log([1.05, 0.95, 1.20, 0.90, 0.60, 1.40, 0.85, 0.70])

CATEGORICAL_DTYPE = "str"

# Later periods (generate -P scenario=...): PERIOD_MONTHS monthly vintages right after the
# development window, from the same process except for what the scenario changes.
DEVELOPMENT = SCENARIOS[0]
PERIOD_MONTHS = 12
# downturn: a macro shock on every loan's logit, solved so the period's mean true PD is this
# multiple of what the same loans would have without it.
DOWNTURN_PD_FACTOR = 1.8
# The process's intercept b0 (the development window at default_rate) is solved once on a
# reference development book of this size and seed, so a period's truth does not depend on
# its own size or seed.
REFERENCE_LOANS = 200_000
REFERENCE_SEED = 0


@dataclass(frozen=True)
class Drift:
    """How a period's population differs from the development process: a shift of the
    affluence factor and of log income, a factor on debt-to-income and a shift of the
    purposes' log shares. The default changes nothing."""

    affluence: float = 0.0
    log_income: float = 0.0
    dti_factor: float = 1.0
    purpose: tuple[float, ...] = field(default=(0.0,) * len(PURPOSES))


# shift: lower income, higher DTI and a new broker channel bringing small-business and
# "other" loans (the book has no channel column; the purpose mix carries it).
SHIFT = Drift(affluence=-0.5, log_income=-0.15, dti_factor=1.35,
              purpose=(0.0, 0.0, 0.0, 0.0, 0.0, 1.4, 0.0, 0.8))
COLUMNS = (
    ID_COL,
    DATE_COL,
    "age",
    "annual_income",
    "employment_length",
    "home_ownership",
    "loan_amount",
    "term",
    "interest_rate",
    "installment",
    "purpose",
    "debt_to_income",
    "credit_utilisation",
    "open_accounts",
    "delinquencies",
    "inquiries",
    "credit_history_length",
    TRUE_PD_COL,
    TARGET_COL,
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choose(rng: np.random.Generator, scores: np.ndarray) -> np.ndarray:
    """One category index per row, drawn with probabilities softmax(scores) (inverse CDF)."""
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(scores)) * cumulative[:, -1]
    return np.minimum((cumulative < u[:, None]).sum(axis=1), scores.shape[1] - 1)


def _vintages(rng: np.random.Generator, n: int, first: int = 0, count: int = N_VINTAGES
              ) -> np.ndarray:
    """Month index first..first+count-1 per loan (0 = FIRST_VINTAGE), sorted, with volume
    growing month on month."""
    weights = np.exp(MONTHLY_VOLUME_GROWTH * (first + np.arange(count)))
    return first + np.sort(rng.choice(count, size=n, p=weights / weights.sum()))


def _annuity(amount: np.ndarray, annual_rate_pct: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Monthly payment that repays ``amount`` over ``months`` at ``annual_rate_pct``."""
    r = annual_rate_pct / 1200.0
    return amount * r / (1.0 - (1.0 + r) ** (-months))


def _features(rng: np.random.Generator, n: int, first: int = 0, count: int = N_VINTAGES,
              drift: Drift | None = None) -> dict[str, np.ndarray]:
    """Draw every feature column (numpy arrays; categoricals as indices), in a fixed order,
    for the months first..first+count-1; ``drift`` moves the population (scenario shift)."""
    drift = drift or Drift()
    month = _vintages(rng, n, first, count)
    years = month / 12.0
    quality = rng.normal(size=n)
    affluence = rng.normal(size=n) + drift.affluence

    age = np.minimum(21.0 + rng.gamma(3.0, 6.0, size=n), 80.0).astype(np.int64)
    employment = np.minimum(np.floor((age - 18) * rng.beta(1.5, 4.0, size=n)), 45.0)
    employment_missing = rng.random(n) < np.where(age < 25, 0.10, 0.06)

    log_income = (
        np.log(42_000)
        + 0.35 * affluence
        + 0.45 * np.tanh((age - 21) / 20.0)
        + 0.012 * np.minimum(employment, 20)
        + 0.10 * quality
        + np.log(1.03) * years
        + 0.30 * rng.normal(size=n)
        + drift.log_income
    )
    income = np.clip(np.round(np.exp(log_income), -2), 8_000, 1_000_000)
    income_missing = rng.random(n) < 0.02

    home = _choose(
        rng,
        np.column_stack(
            [
                np.zeros(n),
                -0.8 + 0.9 * affluence + 0.05 * (age - 35),
                -2.0 + 0.4 * affluence + 0.06 * (age - 35),
                np.full(n, -4.0),
            ]
        ),
    )
    owner = (home == 1) | (home == 2)
    purpose_scores = np.tile(PURPOSE_BASE_SHARE, (n, 1))
    purpose_scores[:, 2] += np.where(owner, 1.0, -1.5)
    purpose_scores[:, 5] += 0.3 * affluence
    purpose_scores += np.asarray(drift.purpose)
    purpose = _choose(rng, purpose_scores)

    amount = income * 0.22 * np.exp(PURPOSE_SIZE[purpose] + 0.35 * rng.normal(size=n))
    amount = np.clip(np.round(amount / 25.0) * 25.0, 1_000, 40_000)
    long_term = rng.random(n) < _sigmoid(-1.4 + 1.2 * np.log(amount / 12_000) + 0.1 * years)
    term = np.where(long_term, 60, 36).astype(np.int64)

    history = np.round((age - 18) * rng.beta(4.0, 2.0, size=n) + 0.3, 1)
    open_accounts = rng.poisson(1.5 + 0.35 * history**0.8 + 0.8 * np.maximum(affluence, 0))
    delinquencies = rng.poisson(np.exp(-2.0 - 0.9 * quality))
    inquiries = rng.poisson(np.exp(-0.4 - 0.5 * quality + 0.03 * years))
    utilisation = np.round(
        1.2 * _sigmoid(-0.5 - 0.8 * quality - 0.2 * affluence + 0.7 * rng.normal(size=n)), 3
    )
    utilisation_missing = (open_accounts == 0) | (rng.random(n) < 0.02)
    dti = np.round(
        np.clip(rng.gamma(4.0, 4.0, size=n) * np.exp(-0.15 * affluence - 0.15 * quality)
                * drift.dti_factor, 0, 60),
        2,
    )

    lender_score = (
        0.04 * dti
        + 1.5 * utilisation
        + 0.5 * np.minimum(delinquencies, 3)
        + 0.15 * np.minimum(inquiries, 6)
        - 0.5 * np.log(income / 50_000)
        - 0.03 * history
    )
    lender_score = (lender_score - lender_score.mean()) / lender_score.std()
    rate = 11.5 + 3.5 * lender_score + 2.0 * long_term + 2.0 * years / 6.0
    rate = np.round(np.clip(rate + 1.2 * rng.normal(size=n), 5.31, 30.99), 2)
    installment = np.round(_annuity(amount, rate, term), 2)

    return {
        "month": month,
        "age": age,
        "annual_income": np.where(income_missing, np.nan, income),
        "employment_length": np.where(employment_missing, np.nan, employment),
        "home_ownership": home,
        "loan_amount": amount,
        "term": term,
        "interest_rate": rate,
        "installment": installment,
        "purpose": purpose,
        "debt_to_income": dti,
        "credit_utilisation": np.where(utilisation_missing, np.nan, utilisation),
        "open_accounts": open_accounts.astype(np.int64),
        "delinquencies": delinquencies.astype(np.int64),
        "inquiries": inquiries.astype(np.int64),
        "credit_history_length": history,
    }


def pd_score(book: pd.DataFrame) -> np.ndarray:
    """The DGP's log-odds of default without the intercept (see the module docstring).

    A function of the book's recorded columns only: missing values enter as documented.
    """
    utilisation = book["credit_utilisation"].to_numpy(dtype=float)
    util_missing = np.isnan(utilisation)
    util = np.where(util_missing, 0.0, utilisation)
    income_raw = book["annual_income"].to_numpy(dtype=float)
    income_missing = np.isnan(income_raw)
    income = np.where(income_missing, 50_000.0, income_raw)
    emp_raw = book["employment_length"].to_numpy(dtype=float)
    emp_missing = np.isnan(emp_raw)
    emp = np.where(emp_missing, 0.0, emp_raw)
    dti = book["debt_to_income"].to_numpy(dtype=float)
    long_term = (book["term"].to_numpy() == 60).astype(float)
    delinquencies = book["delinquencies"].to_numpy()
    return (
        0.035 * dti
        + 0.6 * util
        + 2.5 * np.maximum(util - 0.8, 0.0)
        + 0.2 * util_missing
        + 0.0012 * (book["age"].to_numpy() - 40.0) ** 2
        - 0.45 * np.log(income / 50_000.0)
        + 0.3 * income_missing
        + 3.0 * 12.0 * book["installment"].to_numpy() / income
        + 0.05 * (book["interest_rate"].to_numpy() - 12.0)
        + 0.55 * np.minimum(delinquencies, 3)
        + 0.10 * np.minimum(book["inquiries"].to_numpy(), 6)
        - 0.30 * np.log1p(book["credit_history_length"].to_numpy())
        - 0.04 * np.minimum(emp, 10.0)
        + 0.25 * emp_missing
        + 0.35 * (book["open_accounts"].to_numpy() <= 2)
        + book["home_ownership"].map(HOME_EFFECT).to_numpy(dtype=float)
        + book["purpose"].map(PURPOSE_EFFECT).to_numpy(dtype=float)
        + 0.30 * long_term
        + 0.025 * long_term * (dti - 15.0)
        + 0.60 * (delinquencies > 0) * util
    )


def solve_intercept(score: np.ndarray, default_rate: float) -> float:
    """The intercept b0 with mean(sigmoid(b0 + score)) == default_rate."""
    return float(
        brentq(
            lambda b0: _sigmoid(b0 + score).mean() - default_rate,
            -60.0 - score.max(),
            60.0 - score.min(),
            xtol=1e-12,
        )
    )


def _frame(f: dict[str, np.ndarray]) -> pd.DataFrame:
    """The drawn features as a book: ids, origination dates, named categories."""
    n_samples = len(f["month"])
    vintage = np.datetime64(FIRST_VINTAGE, "M") + f.pop("month")
    for column, levels in (("home_ownership", HOME_OWNERSHIP), ("purpose", PURPOSES)):
        labels = pa.array(levels).take(pa.array(f[column]))
        f[column] = pd.array(labels, dtype=CATEGORICAL_DTYPE)
    book = pd.DataFrame(
        {
            ID_COL: np.arange(1, n_samples + 1, dtype=np.int64),
            DATE_COL: vintage.astype(DATE_DTYPE),
            **f,
        }
    )
    return book


def _with_outcomes(book: pd.DataFrame, true_pd: np.ndarray, rng: np.random.Generator
                   ) -> pd.DataFrame:
    book[TRUE_PD_COL] = true_pd
    book[TARGET_COL] = (rng.random(len(book)) < true_pd).astype(np.int64)
    return book[list(COLUMNS)]


def synthetic_loan_book(n_samples: int, default_rate: float, seed: int) -> pd.DataFrame:
    """A loan book of ``n_samples`` loans whose mean true PD is ``default_rate``.

    Columns: ``loan_id``, ``origination_date``, the features, ``true_pd`` and ``default``.
    Same arguments, same frame (and, written with ``write_parquet``, same bytes).
    """
    check_generate_params(n_samples, default_rate)
    rng = np.random.Generator(np.random.PCG64(seed))
    book = _frame(_features(rng, n_samples))
    score = pd_score(book)
    return _with_outcomes(book, _sigmoid(solve_intercept(score, default_rate) + score), rng)


@functools.lru_cache(maxsize=8)
def process_intercept(default_rate: float) -> float:
    """b0 of the development process at ``default_rate``: solved on a reference development
    book of REFERENCE_LOANS loans (seed REFERENCE_SEED)."""
    rng = np.random.Generator(np.random.PCG64(REFERENCE_SEED))
    return solve_intercept(pd_score(_frame(_features(rng, REFERENCE_LOANS))), default_rate)


def check_scenario(scenario: str) -> str:
    """One of SCENARIOS, or a PipelineError naming them."""
    if scenario not in SCENARIOS:
        raise PipelineError(f"unknown scenario '{scenario}'; choose one of "
                            f"{', '.join(SCENARIOS)}.")
    return scenario


def synthetic_period(n_samples: int, default_rate: float, seed: int, scenario: str
                     ) -> pd.DataFrame:
    """``n_samples`` loans originated in the PERIOD_MONTHS months after the development
    window, with ``true_pd`` and ``default``; ``default_rate`` is the development process's.

    baseline: the same process (the vintage trends continue). downturn: the baseline's loans
    (same seed, same features) with a macro shock on every logit, mean true PD x
    DOWNTURN_PD_FACTOR. shift: the population drifts (:data:`SHIFT`), the PD formula is
    unchanged. Periods draw from their own stream (seed, 1), never the development book's.
    """
    check_generate_params(n_samples, default_rate)
    check_scenario(scenario)
    if scenario == DEVELOPMENT:
        return synthetic_loan_book(n_samples, default_rate, seed)
    rng = np.random.Generator(np.random.PCG64([seed, 1]))
    drift = SHIFT if scenario == "shift" else Drift()
    book = _frame(_features(rng, n_samples, N_VINTAGES, PERIOD_MONTHS, drift))
    logit = process_intercept(default_rate) + pd_score(book)
    if scenario == "downturn":
        target = DOWNTURN_PD_FACTOR * _sigmoid(logit).mean()
        shock = brentq(lambda d: _sigmoid(logit + d).mean() - target, 0.0, 20.0, xtol=1e-12)
        logit = logit + shock
    return _with_outcomes(book, _sigmoid(logit), rng)
