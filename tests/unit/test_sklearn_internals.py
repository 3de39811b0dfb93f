"""Contract of pd_lib.modelling.sklearn_internals: what each private scikit-learn name must
still be and do, and that every type the skops trust lists name still lives where they say.
A failure here after a scikit-learn upgrade names the internal that moved; re-check it (and
its "Breaks:" note) before changing anything else."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

from pd_lib.modelling import sklearn_internals as internals
from pd_lib.modelling.skops_trust import LEGACY_TRUSTED_TYPES, trusted_types

VERIFIED_SKLEARN = "1.9.1"  # requirements.txt's pin, the version the internals were read in
LEARNING_RATE = 0.1


def test_the_internals_were_verified_against_this_scikit_learn():
    assert sklearn.__version__ == VERIFIED_SKLEARN, (
        f"scikit-learn is {sklearn.__version__}, but sklearn_internals was verified against "
        f"{VERIFIED_SKLEARN}: re-read each name in pd_lib/modelling/sklearn_internals.py and "
        "the trust lists of pd_lib/modelling/kinds.py in the new scikit-learn, then update "
        "VERIFIED_SKLEARN here")


def _book(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two numbers (one with missing values) and a category coded 3, 7, 11, 40 (not 0..k-1,
    so scikit-learn's input step has something to re-code)."""
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    category = rng.choice([3.0, 7.0, 11.0, 40.0], size=n)
    log_odds = 1.5 * x0 - x1 + np.where(category == 7.0, 1.2, 0.0) - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    x1[rng.random(n) < 0.1] = np.nan
    return np.column_stack([x0, x1, category]), y


@pytest.fixture(scope="module")
def boosting():
    X, y = _book(600, seed=0)
    return HistGradientBoostingClassifier(
        max_iter=8, max_depth=3, learning_rate=LEARNING_RATE, l2_regularization=0.0,
        early_stopping=False, categorical_features=[False, False, True], random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def scoring_rows():
    X, _ = _book(200, seed=1)
    X[:5, 2] = 99.0  # a category the model never saw
    X[5:10, 0] = np.nan  # missing where training had none
    return X


def test_the_input_step_gives_float64_rows_in_c_order(boosting, scoring_rows):
    encoded = internals.boosting_input(boosting, scoring_rows)
    assert encoded.shape == scoring_rows.shape
    assert encoded.dtype == np.float64 and encoded.flags["C_CONTIGUOUS"]


def test_one_tree_per_iteration_with_its_node_arrays(boosting):
    trees = internals.boosted_trees(boosting)
    assert len(trees) == boosting.n_iter_
    for tree in trees:
        n = len(tree.value)
        assert all(len(a) == n for a in (tree.left, tree.right, tree.is_leaf, tree.feature))
        inner = ~tree.is_leaf.astype(bool)
        assert inner[0] and set(tree.feature[inner]) <= {0, 1, 2}
        assert (tree.left[inner] > 0).all() and (tree.right[inner] > 0).all()


def test_leaves_and_the_baseline_add_up_to_the_decision_function(boosting, scoring_rows):
    """The tree walk reason codes rely on: scikit-learn's own input step, category bitsets
    and traversal reach the leaves predict reaches, the leaves' values are the log-odds
    steps, and the baseline is where they start."""
    encoded = internals.boosting_input(boosting, scoring_rows)
    categories = internals.boosting_categories(boosting)
    total = np.full(len(encoded), internals.boosting_baseline(boosting))
    for tree in internals.boosted_trees(boosting):
        leaves = internals.leaf_indices(tree, encoded, categories)
        assert tree.is_leaf[leaves].all()
        total += tree.value[leaves]
    np.testing.assert_allclose(total, boosting.decision_function(scoring_rows), atol=1e-9)


def test_the_baseline_is_the_log_odds_of_the_training_default_rate(boosting):
    _, y = _book(600, seed=0)
    assert internals.boosting_baseline(boosting) == pytest.approx(np.log(y.mean() /
                                                                         (1 - y.mean())))


def test_every_node_value_is_on_the_scale_of_the_leaves(boosting):
    """In the first tree every row has the same hessian, so (without L2) an inner node's
    value is the count-weighted mean of its leaves' values; a node stored on another scale
    than its leaves (the learning rate applied to both, or to neither) breaks that."""
    tree = internals.boosted_trees(boosting)[0]
    count = tree.predictor.nodes["count"].astype(float)
    is_leaf = tree.is_leaf.astype(bool)

    def leaves_under(node: int) -> list[int]:
        if is_leaf[node]:
            return [node]
        return leaves_under(int(tree.left[node])) + leaves_under(int(tree.right[node]))

    inner = [node for node in range(1, len(is_leaf)) if not is_leaf[node]]  # root stored as 0
    assert inner, "the test model has no inner node below the root"
    for node in inner:
        leaves = leaves_under(node)
        mean = np.average(tree.value[leaves], weights=count[leaves])
        assert tree.value[node] == pytest.approx(mean, rel=1e-6, abs=1e-12), node


def test_the_search_base_is_the_base_of_both_searches():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV

    assert issubclass(GridSearchCV, internals.BaseSearchCV)
    assert issubclass(HalvingGridSearchCV, internals.BaseSearchCV)


def _resolve(dotted: str) -> object:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", trusted_types())
def test_every_trusted_type_still_lives_where_the_trust_list_says(dotted):
    """skops names a saved object's type by its module and name; a type that moved is
    refused (or, moved with an alias left behind, saved under a name the list lacks)."""
    try:
        found = _resolve(dotted)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{dotted} (pd_lib/modelling/kinds.py, skops_trust.py) no longer exists: {exc}")
    assert f"{found.__module__}.{found.__qualname__}" == dotted, (
        f"{dotted} now lives at {found.__module__}.{found.__qualname__}")
    if dotted.startswith("sklearn.") and any(p.startswith("_") for p in dotted.split(".")):
        assert isinstance(found, type), f"{dotted} is no longer a class"


@pytest.mark.parametrize("dotted", LEGACY_TRUSTED_TYPES)
def test_the_legacy_trusted_types_still_import(dotted):
    assert isinstance(_resolve(dotted), type)
