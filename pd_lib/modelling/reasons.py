"""Reason codes: per borrower, the characteristics that raise its PD the most.

How much a characteristic raises one borrower's PD, by kind:

- scorecard: the points it falls short of the characteristic's maximum (US adverse-action
  practice); a characteristic at its best bin is never a reason.
- logistic regressions (plain and splines): coefficient x (input - its training mean), summed
  over the columns one characteristic becomes (one-hot categories, spline basis).
- hist_gradient_boosting and random_forest: the exact path decomposition of each tree (Saabas):
  along a borrower's path every split adds the change of the node value to the feature it
  splits on, so a row's contributions sum to its raw output (log-odds for boosting, the
  probability for a forest) minus the model's base value. It follows scikit-learn's own split
  decisions, native categorical splits included (which shap's TreeExplainer gets wrong).

Only positive effects count: the calibration stage is increasing, so a characteristic with a
positive effect raises the calibrated PD too. Fewer adverse characteristics than asked leave
the remaining reason columns empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from pd_lib.checks import check_reasons
from pd_lib.errors import PipelineError
from pd_lib.modelling.blend import Blend
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.scorecard import Scorecard, points_scale
from pd_lib.modelling.sklearn_internals import (
    boosted_trees,
    boosting_baseline,
    boosting_categories,
    boosting_input,
    leaf_indices,
)

REASON_PREFIX = "reason_"
SCORE_COL = "score"


def reason_columns(k: int) -> list[str]:
    """reason_1 .. reason_k."""
    return [f"{REASON_PREFIX}{i + 1}" for i in range(k)]


def top_reasons(effects: pd.DataFrame, k: int) -> pd.DataFrame:
    """reason_1..reason_k: per row the names of the k columns of ``effects`` with the largest
    positive value, largest first; None where fewer than k are positive."""
    values = effects.to_numpy(dtype=float)
    names = np.asarray(effects.columns, dtype=object)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(values, order, axis=1)
    labels = np.where(chosen > 0, names[order], None)
    if labels.shape[1] < k:  # fewer characteristics than reasons asked for
        labels = np.hstack([labels, np.full((len(labels), k - labels.shape[1]), None)])
    return pd.DataFrame(labels, columns=reason_columns(k), index=effects.index, dtype=object)


def adverse_effects(model: PDModel, X: pd.DataFrame) -> pd.DataFrame:
    """Per row (X's rows) and characteristic, how much it raises the borrower's PD (see the
    module docstring); > 0 is adverse."""
    estimator = model.estimator_
    if isinstance(estimator, Scorecard):
        return estimator.shortfall(X)
    if isinstance(estimator, Blend):
        return _blend_effects(estimator, X)
    encoder = model.pipeline_[0]
    encoded = np.asarray(encoder.transform(X), dtype=float)
    if isinstance(estimator, HistGradientBoostingClassifier):
        values, _ = boosting_contributions(estimator, encoded)
    elif isinstance(estimator, RandomForestClassifier):
        values, _ = forest_contributions(estimator, encoded)
    elif hasattr(estimator, "coef_"):
        return _linear_effects(model, encoded, X.index)
    else:
        raise PipelineError(f"reason codes are not available for {type(estimator).__name__}.")
    return pd.DataFrame(values, columns=list(encoder.get_feature_names_out()), index=X.index)


def reason_frame(model: PDModel, X: pd.DataFrame, k: int) -> pd.DataFrame:
    """reason_1..reason_k for every row and, for a scorecard, its points (column score)."""
    reasons = top_reasons(adverse_effects(model, X), check_reasons(k))
    if isinstance(model.estimator_, Scorecard):
        reasons.insert(0, SCORE_COL, model.estimator_.total_points(X))
    return reasons


def predict_with_reasons(model: PDModel, X: pd.DataFrame, k: int = 0) -> pd.DataFrame:
    """The ``pd`` column, a scorecard's points (``score``) always beside its PDs, and with
    k > 0 the reason columns."""
    output = model.predict(X)
    if not check_reasons(k):
        if isinstance(model.estimator_, Scorecard):
            output.insert(1, SCORE_COL, model.estimator_.total_points(X))
        return output
    return pd.concat([output, reason_frame(model, X, k).set_axis(output.index)], axis=1)


# --- the blend ---------------------------------------------------------------------------


def log_odds_effects(model: PDModel, X: pd.DataFrame) -> pd.DataFrame:
    """:func:`adverse_effects` in log-odds for every kind: a scorecard's points shortfall
    divided by its points per unit of log-odds (pdo / ln 2); a forest's contributions, which
    are in probability, divided by p (1 - p) at the row's forest PD (the slope of the
    probability in the log-odds there: a linearisation)."""
    effects = adverse_effects(model, X)
    if isinstance(model.estimator_, Scorecard):
        factor, _ = points_scale(model.estimator_.pdo, model.estimator_.base_points,
                                 model.estimator_.base_odds)
        return effects / factor
    if isinstance(model.estimator_, RandomForestClassifier):
        p = np.clip(model.predict_raw_pd(X), 0.01, 0.99)
        return effects.div(p * (1.0 - p), axis=0)
    return effects


def _blend_effects(blend: Blend, X: pd.DataFrame) -> pd.DataFrame:
    """The blend's log-odds is its members' mean: so is each characteristic's effect."""
    columns = list(X.columns)
    total = sum(log_odds_effects(member, X).reindex(columns=columns, fill_value=0.0)
                for member in blend.members)
    return total / len(blend.members)


# --- linear models ---------------------------------------------------------------------


def _linear_effects(model: PDModel, encoded: np.ndarray, index: pd.Index) -> pd.DataFrame:
    encoder, estimator = model.pipeline_[0], model.estimator_
    reference = getattr(model, "encoded_means_", None)
    if reference is None:  # models fitted before reason codes: standardised numbers, mean 0
        reference = np.zeros(encoded.shape[1])
    per_column = (encoded - reference) * np.ravel(estimator.coef_)
    features = list(encoder.feature_names_in_)
    owners = [_owner(name, features) for name in encoder.get_feature_names_out()]
    frame = pd.DataFrame(per_column, index=index)
    return frame.T.groupby(np.asarray(owners), sort=False).sum().T.reindex(columns=features,
                                                                           fill_value=0.0)


def _owner(column: str, features: list[str]) -> str:
    """The input feature an encoded column comes from: itself, ``<feature>_<category>``,
    ``<feature>_sp_<i>`` or ``missingindicator_<feature>``; the longest name wins."""
    column = column.removeprefix("missingindicator_")
    matches = [f for f in features if column == f or column.startswith(f"{f}_")]
    return max(matches, key=len) if matches else column


# --- trees -----------------------------------------------------------------------------


def _path_table(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray, feature: np.ndarray,
                value: np.ndarray, n_features: int) -> np.ndarray:
    """Per node, the contributions accumulated from the root to it: every split adds the
    change of the node value to the feature it splits on."""
    table = np.zeros((len(value), n_features))
    stack = [0]
    while stack:
        node = stack.pop()
        if is_leaf[node]:
            continue
        for child in (int(left[node]), int(right[node])):
            table[child] = table[node]
            table[child, int(feature[node])] += value[child] - value[node]
            stack.append(child)
    return table


def boosting_contributions(estimator: HistGradientBoostingClassifier, encoded: np.ndarray
                           ) -> tuple[np.ndarray, float]:
    """Per row and feature the log-odds contributions of a fitted HistGradientBoosting
    classifier, and the base value: each row's contributions sum to its decision_function
    minus the base value. The trees and their traversal are scikit-learn's own
    (:mod:`pd_lib.modelling.sklearn_internals`)."""
    encoded = boosting_input(estimator, encoded)
    categories = boosting_categories(estimator)
    contributions = np.zeros((encoded.shape[0], estimator.n_features_in_))
    base = boosting_baseline(estimator)
    for tree in boosted_trees(estimator):
        table = _path_table(tree.left, tree.right, tree.is_leaf, tree.feature, tree.value,
                            estimator.n_features_in_)
        contributions += table[leaf_indices(tree, encoded, categories)]
        base += float(tree.value[0])
    return contributions, base


def forest_contributions(estimator: RandomForestClassifier, encoded: np.ndarray
                         ) -> tuple[np.ndarray, float]:
    """Per row and feature the contributions to a random forest's PD (the mean over its
    trees), and the base value: each row's sum to its PD minus the base value."""
    encoded = np.asarray(encoded, dtype=np.float32)
    contributions = np.zeros(encoded.shape)
    base = 0.0
    for tree in estimator.estimators_:
        structure = tree.tree_
        value = structure.value[:, 0, 1] / structure.value[:, 0, :].sum(axis=1)
        table = _path_table(structure.children_left, structure.children_right,
                            structure.children_left < 0, structure.feature, value,
                            encoded.shape[1])
        contributions += table[tree.apply(encoded)]
        base += float(value[0])
    n = len(estimator.estimators_)
    return contributions / n, base / n
