"""tune's search methods: screening (default), successive halving and GridSearchCV, and their
child runs."""

from __future__ import annotations

import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from pd_lib.config import TARGET_COL
from pd_lib.data.schema import feature_columns
from pd_lib.data.sources import make_classification_loans
from pd_lib.errors import PipelineError
from pd_lib.modelling.screening import SCREEN_KEEP, screen_sizes
from pd_lib.modelling.search import (
    DEFAULT_SEARCH,
    best_params,
    candidate_results,
    expected_rows_fitted,
    halving_min_resources,
    parse_grid,
    run_search,
)

GRID = "n_estimators=15;learning_rate=0.05,0.1,0.3;max_depth=2,3,None"


@pytest.fixture(scope="module")
def loans():
    return make_classification_loans(1500, 6, 0.2, seed=3)


@pytest.fixture(scope="module")
def halving(loans):
    return run_search("hist_gradient_boosting", parse_grid(GRID, "hist_gradient_boosting"),
                      loans, cv=3, search="halving", seed=3)


@pytest.fixture(scope="module")
def screen(loans):
    return run_search("hist_gradient_boosting", parse_grid(GRID, "hist_gradient_boosting"),
                      loans, cv=3, search="screen", seed=3)


def test_screen_is_the_default():
    assert DEFAULT_SEARCH == "screen"


@pytest.mark.parametrize(("n_rows", "expected"), [
    (80_000, (15_000, 10_000)),  # large: fixed samples, the cost does not grow with the data
    (30_000, (15_000, 10_000)),
    (20_000, (10_000, 10_000)),
    (1_501, (750, 751)),  # small: half to fit, the rest to score
])
def test_screening_sample_sizes(n_rows, expected):
    assert screen_sizes(n_rows) == expected


def _by_round(searcher, round_: int) -> dict[str, float]:
    results = searcher.cv_results_
    return {repr(sorted(p.items())): score for p, score, r in zip(
        results["params"], results["mean_test_score"], results["iter"], strict=True)
        if r == round_}


def _fold_scores(loans, candidates) -> dict[str, list[float]]:
    """Each candidate's ROC AUC on every fold, from GridSearchCV on the search's folds."""
    reference = GridSearchCV(
        candidates[0][1], [{k: [v] for k, v in p.items()} for p, _ in candidates],
        scoring="roc_auc", cv=StratifiedKFold(3, shuffle=True, random_state=3)).fit(
        loans[feature_columns(loans)], loans[TARGET_COL].to_numpy())
    results = reference.cv_results_
    return {repr(sorted(p.items())): [results[f"split{k}_test_score"][i] for k in range(3)]
            for i, p in enumerate(results["params"])}


def test_screen_races_the_best_of_the_screening_round_on_the_first_fold(screen, loans):
    screened, raced, final = (_by_round(screen, r) for r in (0, 1, 2))
    assert len(screened) == 9 and len(raced) == SCREEN_KEEP < 9
    assert set(raced) == set(sorted(screened, key=screened.get, reverse=True)[:SCREEN_KEEP])
    results = screen.cv_results_
    assert [n for n, r in zip(results["n_splits"], results["iter"], strict=True) if r > 0] == [
        1] * SCREEN_KEEP + [3]
    # round 1 is GridSearchCV's first fold; round 2 completes the better one's folds
    folds = _fold_scores(loans, [(p, screen.estimator) for p, r in zip(
        results["params"], results["iter"], strict=True) if r == 1])
    assert raced == pytest.approx({key: scores[0] for key, scores in folds.items()})
    better = max(raced, key=raced.get)
    assert list(final) == [better]
    assert final[better] == screen.best_score_ == pytest.approx(sum(folds[better]) / 3)
    assert repr(sorted(screen.best_params_.items())) == better
    assert screen.n_fits_ == 9 + SCREEN_KEEP + 2  # the winner's first fold is its race fit


def test_screen_keeps_the_out_of_fold_pds_of_the_best_only(screen, loans):
    results = screen.cv_results_
    runner_up = next(p for p, n in zip(results["params"], results["n_splits"], strict=True)
                     if n == 1 and p != screen.best_params_)
    assert screen.out_of_fold_pd(runner_up) is None
    out_of_fold = screen.out_of_fold_pd(screen.best_params_)
    assert out_of_fold.shape == (len(loans),) and ((out_of_fold > 0) & (out_of_fold < 1)).all()


def test_screen_refits_the_best_on_all_rows_and_is_reproducible(screen, loans):
    X, y = loans[feature_columns(loans)], loans[TARGET_COL].to_numpy()
    refit = clone(screen.estimator).set_params(**screen.best_params_).fit(X, y)
    assert screen.best_estimator_.predict_pd(X) == pytest.approx(refit.predict_pd(X))
    again = run_search("hist_gradient_boosting", parse_grid(GRID, "hist_gradient_boosting"),
                       loans, cv=3, search="screen", seed=3)
    assert again.cv_results_["mean_test_score"] == screen.cv_results_["mean_test_score"]


def test_screen_with_few_candidates_races_them_without_screening(loans):
    grid = "C=" + ",".join(str(0.1 * (i + 1)) for i in range(SCREEN_KEEP))
    searcher = run_search("logistic_regression", parse_grid(grid, "logistic_regression"),
                          loans, cv=3, search="screen", seed=3)
    assert searcher.cv_results_["iter"] == [0] * SCREEN_KEEP + [1]
    records = candidate_results(searcher, "logistic_regression")
    assert [r["round"] for r in records] == [1] + [0] * (SCREEN_KEEP - 1)
    assert [r["n_splits"] for r in records] == [3] + [1] * (SCREEN_KEEP - 1)
    assert records[0]["params"] == best_params(searcher, "logistic_regression")


@pytest.mark.parametrize(
    ("n_rows", "n_candidates", "minority", "cv", "expected"),
    [
        (90_000, 27, 9_000, 3, 90_000 // 27),  # 4 rounds; the last uses all rows
        (90_000, 4, 9_000, 3, 90_000 // 3),  # 4 candidates: 2 rounds (4 -> 2)
        (1_500, 9, 300, 3, 300),  # 20 defaulters per fold need 300 rows at a 20% rate
        (200, 9, 20, 3, 200),  # too few defaulters to halve: one round on all rows
    ],
)
def test_first_round_rows(n_rows, n_candidates, minority, cv, expected):
    assert halving_min_resources(n_rows, n_candidates, minority, cv) == expected


def test_expected_rows_fitted_weigh_the_search():
    # screen: 6 candidates on 15,000 rows, the best 2 on a fold of 80,000 (53,333 rows to
    # fit), the better one on the other 2 folds, one refit
    fold = 80_000 * 2 / 3
    assert expected_rows_fitted(80_000, 6, 3, "screen") == pytest.approx(
        6 * 15_000 + (2 + 2) * fold + 80_000)
    assert expected_rows_fitted(80_000, 2, 3, "screen") == pytest.approx(4 * fold + 80_000)
    assert expected_rows_fitted(80_000, 6, 3, "grid") == 6 * 2 * 80_000 + 80_000


def test_unknown_search_and_too_few_folds_are_refused(loans):
    grid = parse_grid("C=0.1,1", "logistic_regression")
    with pytest.raises(PipelineError, match="unknown search 'optuna'.*screen, halving, grid"):
        run_search("logistic_regression", grid, loans, cv=3, search="optuna", seed=0)
    with pytest.raises(PipelineError, match="at least 2 folds"):
        run_search("logistic_regression", grid, loans, cv=1, search="grid", seed=0)


def test_halving_scores_every_candidate_once_best_first(halving):
    records = candidate_results(halving, "hist_gradient_boosting")
    assert len(records) == 9
    assert [r["rank"] for r in records] == list(range(1, 10))
    assert len({repr(r["params"]) for r in records}) == 9
    assert records[0]["params"] == best_params(halving, "hist_gradient_boosting")
    rounds = [r["round"] for r in records]
    assert rounds == sorted(rounds, reverse=True) and rounds[0] > 0  # more than one round
    survivors = [r for r in records if r["round"] == rounds[0]]
    assert all(r["n_resources"] == max(x["n_resources"] for x in records) for r in survivors)
    assert survivors[0]["cv_roc_auc"] == pytest.approx(halving.best_score_)


def test_grid_search_records_match_gridsearchcv(loans):
    searcher = run_search("logistic_regression", parse_grid("C=0.01,0.1,1", "logistic_regression"),
                          loans, cv=3, search="grid", seed=3)
    assert isinstance(searcher, GridSearchCV)
    records = candidate_results(searcher, "logistic_regression")
    assert [r["params"]["C"] for r in records] == [
        searcher.cv_results_["params"][i]["pipeline__classifier__C"]
        for i in sorted(range(3), key=lambda i: -searcher.cv_results_["mean_test_score"][i])
    ]
    assert records[0]["cv_roc_auc"] == pytest.approx(searcher.best_score_)
    assert all(r["round"] == 0 and r["n_resources"] is None for r in records)




def test_the_best_is_calibrated_on_the_searchs_own_folds_with_the_pds_a_plain_fit_gives(
        caplog):
    # Above 20,000 rows the calibration stage cross-fits 3 folds, the search's cv here: the
    # search's out-of-fold PDs of the best candidate are the ones its own fit would make.
    loans = make_classification_loans(21_000, 4, 0.1, seed=5)
    X, y = loans[feature_columns(loans)], loans[TARGET_COL].to_numpy()
    grid = parse_grid("n_estimators=10;learning_rate=0.1,0.3", "hist_gradient_boosting")
    with caplog.at_level("INFO", logger="pd_pipeline"):
        searcher = run_search("hist_gradient_boosting", grid, loans, cv=3, search="screen",
                              seed=5, calibration="sigmoid")
    assert "fitted on the search's out-of-fold PDs" in caplog.text
    plain = clone(searcher.estimator).set_params(
        **searcher.best_params_, calibration="sigmoid").fit(X, y)
    reused = searcher.best_estimator_
    assert reused.calibration_method_ == plain.calibration_method_ == "sigmoid"
    assert reused.calibration_params_ == pytest.approx(plain.calibration_params_, rel=1e-9)
    assert reused.predict_pd(X) == pytest.approx(plain.predict_pd(X), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("calibration", "n_rows", "folds", "seed", "reusable"), [
    ("auto", 21_000, 3, 1, True),     # 3-fold cross-fitting above 20,000 rows
    ("auto", 5_000, 5, 1, True),      # 5 folds up to 20,000
    ("auto", 21_000, 5, 1, False),    # the search used other folds
    ("auto", 5_000, 3, 1, False),
    ("auto", 21_000, 3, 2, False),    # same count, other seed: other folds
    ("none", 21_000, 3, 1, False),    # nothing to calibrate
    ("auto", 400_000, 3, 1, False),   # above 300,000 a held-out slice, not folds
])
def test_out_of_fold_pds_are_reused_only_from_the_same_folds(calibration, n_rows, folds, seed,
                                                            reusable):
    from pd_lib.modelling.pd_model import PDModel

    model = PDModel(calibration=calibration, random_state=1)
    assert model.uses_folds(n_rows, folds, seed) is reusable


def test_screen_cross_validates_a_large_book_on_a_stratified_sample(loans, monkeypatch):
    import pd_lib.modelling.screening as screening

    monkeypatch.setattr(screening, "CV_MAX_ROWS", 600)
    grid = parse_grid(GRID, "hist_gradient_boosting")
    searcher = run_search("hist_gradient_boosting", grid, loans, cv=3, search="screen", seed=3)
    final = [n for n, r in zip(searcher.cv_results_["n_resources"], searcher.cv_results_["iter"],
                               strict=True) if r == 1]
    assert final == [600] * SCREEN_KEEP
    rows = screening.cross_validation_rows(loans[TARGET_COL].to_numpy(), 3)
    assert len(rows) == 600 and len(set(rows)) == 600
    assert loans[TARGET_COL].to_numpy()[rows].mean() == pytest.approx(
        loans[TARGET_COL].mean(), abs=0.002)  # stratified: the book's default rate
    assert searcher.out_of_fold_pd(searcher.best_params_) is None  # not every row's
    assert screening.cross_validation_rows(loans[TARGET_COL].to_numpy()[:600], 3) is None
