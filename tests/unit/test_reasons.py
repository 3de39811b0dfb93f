"""Scorecard points and reason codes, against hand computations on tiny books, and the tree
contributions' sum property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pd_lib.modelling.factory import build_model
from pd_lib.modelling.reasons import (
    adverse_effects,
    boosting_contributions,
    forest_contributions,
    predict_with_reasons,
    top_reasons,
)
from pd_lib.modelling.scorecard import Scorecard, points_scale


def _tiny_book(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "dti": rng.uniform(0, 1, n),
        "income": rng.uniform(10, 100, n),
        "region": rng.choice(["north", "south", "east"], n),
        "noise": rng.uniform(0, 1, n),
    })
    logit = -2 + 2.5 * X["dti"] - 0.03 * X["income"] + (X["region"] == "south") * 0.8
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def fitted():
    X, y = _tiny_book()
    return X, y, Scorecard(monotone={"dti": 1, "income": -1}).fit(X, y)


def test_points_follow_the_scale_by_hand(fitted):
    X, _, card = fitted
    factor, offset = points_scale(20, 600, 50)
    assert factor == pytest.approx(20 / math.log(2))
    assert offset == pytest.approx(600 - factor * math.log(50))
    b0, m = card.intercept_[0], len(card.characteristics_)
    for name, b in zip(card.characteristics_, card.coef_.ravel(), strict=True):
        table = card.bins_[name]
        hand = -(b * table["woe"] + b0 / m) * factor + offset / m
        np.testing.assert_allclose(table["points"], hand)
    # the score is the sum of the points and the PD is the logistic of the WoE regression
    woe = np.column_stack([card.bins_[n]["woe"][card.bin_index(n, X[n])]
                           for n in card.characteristics_])
    logit = b0 + woe @ card.coef_.ravel()
    np.testing.assert_allclose(card.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logit)))
    np.testing.assert_allclose(card.total_points(X), offset - factor * logit)


def test_selection_sign_and_trend(fitted):
    _, _, card = fitted
    assert all(card.iv_[n] >= card.min_iv for n in card.characteristics_)
    assert all(card.iv_[n] < card.min_iv for n, why in card.dropped_.items()
               if why.startswith("information value"))
    assert (card.coef_.ravel() < 0).all()
    for name, direction in (("dti", -1), ("income", 1)):  # points fall as the PD rises
        points = card.bins_[name]["points"][:-1]  # the missing bin last
        assert np.all(np.sign(np.diff(points)) == direction)


def test_bins_of_known_unknown_and_missing_values(fitted):
    _, _, card = fitted
    table = card.bins_["dti"]
    values = pd.Series([-1.0, table["splits"][0], np.nan, 2.0])
    np.testing.assert_array_equal(card.bin_index("dti", values),
                                  [0, 1, len(table["woe"]) - 1, len(table["splits"])])
    region = card.bin_index("region", pd.Series(["south", "mars", None], dtype=object))
    missing = len(card.bins_["region"]["woe"]) - 1
    assert region[0] != missing and list(region[1:]) == [missing, missing]


def test_scorecard_reasons_are_the_largest_shortfalls_by_hand(fitted):
    X, _, card = fitted
    rows = X.head(50)
    points = card.points(rows)
    best = np.array([card.bins_[n]["points"].max() for n in card.characteristics_])
    reasons = top_reasons(card.shortfall(rows), 2)
    for i in range(len(rows)):
        shortfall = best - points[i]
        order = [card.characteristics_[j] for j in np.argsort(-shortfall, kind="stable")
                 if shortfall[j] > 0]
        expected = (order + [None, None])[:2]
        assert reasons.iloc[i].tolist() == expected


def test_top_reasons_skip_features_that_lower_the_pd():
    effects = pd.DataFrame({"a": [0.5, -1.0], "b": [2.0, 0.0], "c": [-0.1, -0.2]})
    reasons = top_reasons(effects, 3)
    assert reasons.iloc[0].tolist() == ["b", "a", None]
    assert reasons.iloc[1].tolist() == [None, None, None]


def test_boosting_contributions_sum_to_the_log_odds():
    X, y = _tiny_book(1500, seed=1)
    model = build_model("hist_gradient_boosting", {"calibration": "none"}, X).fit(X, y)
    encoded = model.pipeline_[0].transform(X)
    values, base = boosting_contributions(model.estimator_, encoded)
    np.testing.assert_allclose(values.sum(axis=1) + base,
                               model.estimator_.decision_function(encoded), atol=1e-6)


def test_forest_contributions_sum_to_the_pd():
    X, y = _tiny_book(800, seed=2)
    model = build_model("random_forest", {"calibration": "none", "n_estimators": 20}, X).fit(X, y)
    encoded = model.pipeline_[0].transform(X)
    values, base = forest_contributions(model.estimator_, encoded)
    np.testing.assert_allclose(values.sum(axis=1) + base,
                               model.estimator_.predict_proba(encoded)[:, 1], atol=1e-6)


def test_linear_effects_are_coefficient_times_distance_from_the_mean():
    X, y = _tiny_book(1000, seed=3)
    model = build_model("logistic_regression", {"calibration": "none", "C": 1.0}, X).fit(X, y)
    effects = adverse_effects(model, X.head(5))
    encoder, coef = model.pipeline_[0], model.estimator_.coef_.ravel()
    names = list(encoder.get_feature_names_out())
    encoded = encoder.transform(X)
    hand = (encoded[:5, names.index("dti")] - encoded[:, names.index("dti")].mean()) \
        * coef[names.index("dti")]
    np.testing.assert_allclose(effects["dti"], hand)
    regions = [i for i, n in enumerate(names) if n.startswith("region_")]
    hand = ((encoded[:5, regions] - encoded[:, regions].mean(axis=0)) * coef[regions]).sum(axis=1)
    np.testing.assert_allclose(effects["region"], hand)


def test_a_scorecards_points_always_come_with_its_pds(fitted):
    """Issue 27: the points appeared only with reasons > 0."""
    X, y, _ = fitted
    model = build_model("scorecard", {"calibration": "none"}, X).fit(X, y)
    plain = predict_with_reasons(model, X.head(3))
    assert list(plain.columns) == ["pd", "score"]
    np.testing.assert_allclose(plain["score"], model.estimator_.total_points(X.head(3)))
    out = predict_with_reasons(model, X.head(3), 4)
    assert list(out.columns) == ["pd", "score", "reason_1", "reason_2", "reason_3", "reason_4"]
    np.testing.assert_allclose(out["score"], plain["score"])
    other = build_model("logistic_regression", {"calibration": "none"}, X).fit(X, y)
    assert list(predict_with_reasons(other, X.head(3)).columns) == ["pd"]


def test_scorecard_grid_is_searched():
    from pd_lib.modelling.search import parse_grid, run_search

    X, y = _tiny_book(1500, seed=4)
    book = X.assign(default=y)
    searcher = run_search("scorecard", parse_grid("C=0.1,1;min_samples_leaf=50,300", "scorecard"),
                          book, 3, "grid", 42, "none", "dti=+1")
    assert searcher.best_params_["pipeline__classifier__min_bin_rows"] in (50, 300)
    card = searcher.best_estimator_.estimator_
    assert np.all(np.diff(card.bins_["dti"]["points"][:-1]) <= 0)


@pytest.mark.parametrize("value", [-1, 21])
def test_reasons_out_of_range_are_refused(value):
    from pd_lib.errors import PipelineError
    from pd_lib.params import check_params

    with pytest.raises(PipelineError, match="reasons must be between 0 and 20"):
        check_params({"reasons": value})
