"""Every private scikit-learn name the project uses, in one place (verified: scikit-learn 1.9.1).

These names are not part of scikit-learn's documented API (a module path with an underscore
segment, an underscore attribute of a fitted estimator) and may move or change in any
release. Nothing else in ``pd_lib`` or ``steps`` imports a private scikit-learn module or
reads an underscore attribute of an estimator (``tests/unit/test_layers.py`` checks that),
and ``tests/unit/test_sklearn_internals.py`` pins the behaviour each one is relied on for, so
an upgrade fails there, by name, before it fails anywhere else.

One exception stays where it is read best: the skops trust lists of
``pd_lib/modelling/kinds.py`` name private classes as strings (a saved model holds them);
the contract test checks that each of those strings still names an importable class.

For each name: why we use it, and what breaks if it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

# One fitted tree of a HistGradientBoosting model, with its own prediction routine. Why:
# reason codes need the leaf every row reaches, decided exactly as scikit-learn decides it
# (native categorical splits, missing values); :func:`leaf_indices` builds a copy of a tree
# whose leaves predict their own index. Breaks: reason codes of hist_gradient_boosting
# models (``pd_lib.modelling.reasons``), and so every scoring with reasons of such a model.
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

# The common base of GridSearchCV and HalvingGridSearchCV. Why: the type of the searcher
# ``pd_lib.modelling.search`` returns (annotations only). Breaks: nothing at run time; type
# checkers lose the searcher's type (and this import fails, which the contract test shows).
from sklearn.model_selection._search import BaseSearchCV  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class BoostedTree:
    """One tree of a fitted binary HistGradientBoosting classifier as arrays over its nodes
    (node 0 the root): children (left, right), is_leaf, the feature each split tests, and
    every node's value on the scale of the raw prediction (log-odds)."""

    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    feature: np.ndarray
    value: np.ndarray
    predictor: TreePredictor


def boosting_input(estimator: HistGradientBoostingClassifier, X: np.ndarray) -> np.ndarray:
    """X as the estimator's trees read it: scikit-learn's own input step of ``predict``
    (``_preprocess_X``: its input checks and the re-coding of native categories into the
    codes its trees split on), as a C-ordered float64 array (what ``TreePredictor.predict``
    takes).

    Why: the trees' own traversal (:func:`leaf_indices`) must see exactly what ``predict``
    passes them. Breaks if renamed or its signature changes: reason codes of boosting models
    fail; if it stops re-coding categories: their leaves, hence their reasons, are wrong
    (the contract test's sum no longer equals the decision function).
    """
    return np.ascontiguousarray(estimator._preprocess_X(X, reset=False), dtype=np.float64)


def boosting_categories(estimator: HistGradientBoostingClassifier
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The known-categories bitsets and the feature map of the fitted binner
    (``_bin_mapper.make_known_categories_bitsets()``), the two arguments
    ``TreePredictor.predict`` takes beside X.

    Why: :func:`leaf_indices` calls the trees' own predict, which needs them. Breaks: reason
    codes of boosting models (an AttributeError or TypeError in :func:`leaf_indices`).
    """
    return estimator._bin_mapper.make_known_categories_bitsets()


def boosting_baseline(estimator: HistGradientBoostingClassifier) -> float:
    """The raw prediction before the first tree (``_baseline_prediction``: the log-odds of
    the training default rate for a binary classifier).

    Why: the base value of the tree decomposition; with each tree's root value it makes each
    row's contributions sum to its decision function. Breaks: the reason codes' base value
    (the contract test's sum is off by a constant), or an AttributeError.
    """
    return float(np.ravel(estimator._baseline_prediction)[0])


def boosted_trees(estimator: HistGradientBoostingClassifier) -> list[BoostedTree]:
    """The fitted trees (``_predictors``: one list of trees per iteration, one tree each for
    a binary classifier), each with its node arrays (``TreePredictor.nodes``, a structured
    array with fields left, right, is_leaf, feature_idx, value).

    scikit-learn stores the leaves' values multiplied by the learning rate and the other
    nodes' values without it; :attr:`BoostedTree.value` puts every node on the leaves'
    scale, so a child's value minus its parent's is the split's effect on the log-odds.

    Why: reason codes decompose each tree along a row's path. Breaks: an AttributeError, a
    ValueError (more than one tree per iteration), a missing field; or, if the inner nodes
    are stored shrunk too, contributions scaled wrongly between the splits of a path (their
    sum stays right: the contract test checks the scale separately).
    """
    shrinkage = float(estimator.learning_rate)
    trees = []
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        value = np.where(nodes["is_leaf"], nodes["value"], nodes["value"] * shrinkage)
        trees.append(BoostedTree(left=nodes["left"], right=nodes["right"],
                                 is_leaf=nodes["is_leaf"], feature=nodes["feature_idx"],
                                 value=value, predictor=predictor))
    return trees


def leaf_indices(tree: BoostedTree, X: np.ndarray,
                 categories: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The leaf (node index) each row of X (from :func:`boosting_input`) reaches, by
    scikit-learn's own traversal: a copy of the tree whose leaves predict their own index
    (``TreePredictor(nodes, binned_left_cat_bitsets, raw_left_cat_bitsets).predict(X,
    known_cat_bitsets, f_idx_map, n_threads)``); ``categories`` from
    :func:`boosting_categories`.

    Why: a traversal of our own would have to copy scikit-learn's rules for missing values
    and native categorical splits (shap's TreeExplainer gets the latter wrong). Breaks: the
    constructor's or predict's signature (a TypeError), or wrong leaves (the contract test's
    sum no longer equals the decision function).
    """
    known, feature_map = categories
    nodes = tree.predictor.nodes.copy()
    nodes["value"] = np.arange(len(nodes), dtype=float)
    indexing = TreePredictor(nodes, tree.predictor.binned_left_cat_bitsets,
                             tree.predictor.raw_left_cat_bitsets)
    return indexing.predict(X, known, feature_map, 1).astype(np.intp)
