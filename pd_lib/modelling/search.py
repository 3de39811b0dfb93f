"""Hyper-parameter search: the grid syntax, the search, and one child run per candidate.

Grid syntax (the ``grid`` parameter): ``name=v1,v2;name=v1,v2``, e.g.
``n_estimators=50,100;max_depth=4,8``. Names are the train step's parameter names
(n_estimators, max_depth, min_samples_leaf, learning_rate, C); values are numbers, or
``None`` for "no limit".
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from pd_lib.checks import check_folds, check_leaf_size, check_search
from pd_lib.config import (  # noqa: F401  (DEFAULT_* re-exported for the steps)
    DEFAULT_GRID,
    DEFAULT_SEARCH,
    GRID_SYNTAX,
    SEARCH_METHODS,
    TAG_CODE_FINGERPRINT,
    TARGET_COL,
)
from pd_lib.cores import parallel_fits
from pd_lib.data.schema import feature_columns
from pd_lib.errors import PipelineError, first_line
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.fitting import progress
from pd_lib.modelling.kind_params import check_model_params
from pd_lib.modelling.kinds import KINDS, effective_calibration
from pd_lib.modelling.pd_model import PDModel
from pd_lib.modelling.screening import (
    CV_MAX_ROWS,
    SCREEN_KEEP,
    ScreenSearch,
    params_key,
    screen_sizes,
)

if TYPE_CHECKING:  # the common base of GridSearchCV and HalvingGridSearchCV
    from pd_lib.modelling.sklearn_internals import BaseSearchCV

    Searcher = BaseSearchCV | ScreenSearch

log = logging.getLogger("pd_pipeline")

HALVING_FACTOR = 3
MIN_MINORITY_PER_FOLD = 20


def _parse_value(text: str, name: str) -> Any:
    text = text.strip()
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise PipelineError(f"grid: value '{text}' of '{name}' is not a number or None; "
                        f"write the grid as {GRID_SYNTAX}.")


def parse_grid(grid: str, model: str) -> dict[str, list[Any]]:
    """Parse the grid parameter into {name: [values]}, refusing malformed or unknown names."""
    check_model_params(model, {})
    if model not in KINDS:
        raise PipelineError(f"tune searches one model kind, not '{model}'; choose one of "
                            f"{', '.join(KINDS)}.")
    tunable = KINDS[model].tunable
    parsed: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in grid.split(";"))):
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise PipelineError(f"grid: '{part}' is malformed; write the grid as {GRID_SYNTAX}.")
        if name not in tunable:
            raise PipelineError(f"grid: '{name}' is not tunable for {model}; "
                                f"use {', '.join(tunable)}.")
        parsed[name] = [_parse_value(v, name) for v in values.split(",")]
        for value in parsed[name]:
            check_grid_value(name, value)
    if not parsed:
        raise PipelineError(f"grid is empty; write it as {GRID_SYNTAX}.")
    return parsed


def check_grid_value(name: str, value: Any) -> None:
    """A grid value is set on the estimator as it is: sizes must be positive (None = no
    limit, for max_depth only)."""
    if value is None and name == "max_depth":
        return
    if value is None or value <= 0:
        raise PipelineError(f"grid: {name} must be positive in a grid; got {value}.")


def checked_grid(grid: str, model: str) -> dict[str, list[Any]]:
    """The grid parsed, every value accepted by the estimator's own parameter checks, before
    any step runs: a value only scikit-learn refuses (learning_rate=-1) used to pass
    parse_grid and die in the search with a traceback, after main had generated and trained.

    Each value is set alone on the template the search uses, fitted on 40 random rows. The
    parsed grid is returned: the search uses it, no second parse of the text.
    """
    parsed = parse_grid(grid, model)  # first: it refuses names and kinds it does not know
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    y = np.arange(40) % 2
    template = _template(model, parsed, X, seed=0, calibration="none", monotone="")
    for name, values in parsed.items():
        for value in values:
            one = {k: v[0] for k, v in _sklearn_grid({name: [value]}, model).items()}
            try:
                clone(template).set_params(**one).fit(X, y)
            except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError is both
                raise PipelineError(f"grid: {name}={value} is refused by {model} "
                                    f"({first_line(exc)}).") from None
    return parsed


def _template(model: str, grid: dict[str, list[Any]], X: pd.DataFrame, seed: int,
              calibration: str, monotone: str) -> PDModel:
    """The unfitted model every candidate is cloned from. A tunable parameter whose default
    is None (logistic regression's C, chosen by its own CV) must exist on the template for
    the grid to set it: it starts from the grid's first value."""
    defaults = KINDS[model].defaults(len(X))
    firsts = {k: v[0] for k, v in grid.items() if defaults.get(k, 0) is None}
    return build_model(model, {"calibration": calibration, "monotone": monotone, **firsts}, X,
                       seed=seed)


def _sklearn_grid(grid: dict[str, list[Any]], model: str) -> dict[str, list[Any]]:
    """Our parameter names -> the PDModel's nested scikit-learn names."""
    return {f"pipeline__classifier__{KINDS[model].tunable[k]}": v for k, v in grid.items()}


def _our_names(sklearn_params: dict[str, Any], model: str) -> dict[str, Any]:
    back = {f"pipeline__classifier__{v}": k for k, v in KINDS[model].tunable.items()}
    return {back[k]: v for k, v in sklearn_params.items()}


def halving_min_resources(
    n_rows: int, n_candidates: int, minority_rows: int, cv: int, factor: int = HALVING_FACTOR
) -> int:
    """Rows each candidate gets in the first round of successive halving.

    As few as lets the last round use all rows ("exhaust"), but enough that every CV fold of
    the first round holds MIN_MINORITY_PER_FOLD defaulters, so its ROC AUC is defined and
    not noise. On small data this leaves fewer rounds (one round = an ordinary grid search).
    """
    rounds = 1 + math.floor(math.log(max(n_candidates, 1), factor) + 1e-9)
    exhaust = n_rows // factor ** (rounds - 1)
    share = max(minority_rows, 1) / max(n_rows, 1)
    enough = math.ceil(MIN_MINORITY_PER_FOLD * cv / share)
    return min(n_rows, max(exhaust, enough))


def expected_rows_fitted(n_rows: int, n_candidates: int, cv: int, search: str) -> float:
    """Rows tune expects to fit on ``n_rows`` training loans (main's core plan weighs its
    share by them): screen fits every candidate on a sample, the best SCREEN_KEEP on the
    first fold and the better one on the others; grid (and, at most, halving) cross-validates
    them all; then one refit."""
    if search != "screen":
        return n_candidates * (cv - 1) * n_rows + n_rows
    screened = n_candidates * screen_sizes(n_rows)[0] if n_candidates > SCREEN_KEEP else 0
    fold_rows = min(n_rows, CV_MAX_ROWS) * (cv - 1) / cv
    return screened + (min(n_candidates, SCREEN_KEEP) + cv - 1) * fold_rows + n_rows


def make_searcher(
    search: str, estimator: PDModel, grid: dict[str, list[Any]], y: np.ndarray, cv: int,
    seed: int, n_jobs: int = 1,
) -> Searcher:
    """The search object for ``search`` over ``grid`` (already in sklearn names); ``n_jobs``:
    parallel fits of grid and halving (screen divides the step's cores itself)."""
    """``screen`` (the default) fits every candidate once on a sample and cross-validates the
    best few on all rows (:mod:`pd_lib.modelling.screening`). ``halving`` is
    HalvingGridSearchCV over the same grid: every candidate is scored on a small sample, the
    best third goes on with three times the rows, and so on until the last round uses them
    all. ``grid`` is GridSearchCV, as the tutorial teaches it.
    """
    check_search(search, cv)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    if search == "screen":
        return ScreenSearch(estimator, grid, folds, seed, refit=False)
    common = {
        "scoring": "roc_auc",
        "cv": folds,
        "refit": False,  # run_search refits the best once, with its calibration stage
        "n_jobs": n_jobs,
    }
    if search == "grid":
        return GridSearchCV(estimator, grid, **common)
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    n_candidates = math.prod(len(v) for v in grid.values())
    min_resources = halving_min_resources(len(y), n_candidates, int(min(np.bincount(y))), cv)
    return HalvingGridSearchCV(
        estimator, grid, factor=HALVING_FACTOR, resource="n_samples",
        min_resources=min_resources, random_state=seed, **common,
    )


def run_search(
    model: str, grid: dict[str, list[Any]], train: pd.DataFrame, cv: int, search: str, seed: int,
    calibration: str = "auto", monotone: str = "",
) -> Searcher:
    """Cross-validated search over ``grid`` on ``train``, scored by ROC AUC; the best
    candidate is refit on all rows with its calibration stage as ``best_estimator_``.

    Candidates are compared without calibration (a calibration stage does not change the
    ranking ROC AUC measures, and would cost each candidate its out-of-fold fits)."""
    check_search(search, cv)
    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    check_folds(cv, len(y), int(y.sum()))
    for leaf in grid.get("min_samples_leaf", []):
        check_leaf_size(leaf, len(y) - len(y) // cv)  # the rows a fold's fit gets
    estimator = _template(model, grid, X, seed, calibration="none", monotone=monotone)
    sk_grid = _sklearn_grid(grid, model)
    started = time.perf_counter()
    # Threads, not processes (pd_lib.cores.parallel_fits): no worker start-up (each would
    # import scikit-learn again) and no copies of the data; the fits release the GIL in their
    # compiled parts. Measured on 2 shared cores, 100k rows: halving 71 s with threads, 104 s
    # with loky processes. ScreenSearch divides the step's cores among its fits itself.
    width = 1 if search == "screen" else math.prod(len(v) for v in grid.values()) * cv
    with parallel_fits(width) as fits, progress(f"{search} search of {model} on {len(y):,} "
                                                f"rows"):
        searcher = make_searcher(search, estimator, sk_grid, y, cv, seed, fits)
        searcher.fit(X, y)
    log.info("%s search: %d candidates x %d folds in %.1f s; best CV ROC AUC %.4f", search,
             len({str(p) for p in searcher.cv_results_["params"]}), cv,
             time.perf_counter() - started, searcher.best_score_)
    started = time.perf_counter()  # one fit with all of this process's cores
    best = clone(estimator).set_params(**searcher.best_params_,
                                       calibration=effective_calibration(model, calibration))
    out_of_fold = _search_out_of_fold(searcher, best, len(y), cv, seed)
    with progress(f"refitting the best {model} on {len(y):,} rows"):
        searcher.best_estimator_ = (best.fit(X, y) if out_of_fold is None
                                    else best.fit_with_out_of_fold(X, y, out_of_fold))
    log.info("refitted the best on all %d rows in %.1f s (calibration: %s%s)", len(y),
             time.perf_counter() - started, best.calibration_method_,
             "" if out_of_fold is None else ", fitted on the search's out-of-fold PDs")
    return searcher


def _search_out_of_fold(searcher: Searcher, best: PDModel, n_rows: int, cv: int, seed: int
                        ) -> np.ndarray | None:
    """The best candidate's out-of-fold PDs from the search when they are the ones its
    calibration stage would make itself (the same folds), else None. At 80,000 training loans
    the calibration cross-fits 3 folds, as the search's default cv does: reusing them leaves
    one fit of the best instead of four."""
    if not isinstance(searcher, ScreenSearch) or not best.uses_folds(n_rows, cv, seed):
        return None
    return searcher.out_of_fold_pd(searcher.best_params_)


def candidate_results(searcher: Searcher, model: str) -> list[dict[str, Any]]:
    """One record per candidate, best first, from its last round (halving) or only round.

    Keys: params (our names), cv_roc_auc, cv_roc_auc_std, fit_seconds, n_resources (rows
    the score is based on), n_splits (the splits it is the mean of, where the search scores
    candidates on different numbers of them, as screen does), round (0-based; later rounds
    are better), rank (1 = best).
    """
    results = searcher.cv_results_
    n = len(results["params"])
    rounds = np.asarray(results.get("iter", np.zeros(n, dtype=int)))
    scores = np.nan_to_num(np.asarray(results["mean_test_score"], dtype=float), nan=-np.inf)
    last: dict[str, int] = {}
    for i, params in enumerate(results["params"]):
        key = params_key(params)
        if key not in last or rounds[i] >= rounds[last[key]]:
            last[key] = i
    order = sorted(last.values(), key=lambda i: (-rounds[i], -scores[i], i))
    n_resources, n_splits = results.get("n_resources"), results.get("n_splits")
    return [
        {
            "params": _our_names(results["params"][i], model),
            "cv_roc_auc": float(results["mean_test_score"][i]),
            "cv_roc_auc_std": float(results["std_test_score"][i]),
            "fit_seconds": float(results["mean_fit_time"][i]),
            "n_resources": int(n_resources[i]) if n_resources is not None else None,
            "n_splits": int(n_splits[i]) if n_splits is not None else None,
            "round": int(rounds[i]),
            "rank": rank,
        }
        for rank, i in enumerate(order, start=1)
    ]


def best_params(searcher: Searcher, model: str) -> dict[str, Any]:
    """The best candidate's parameters under our names."""
    return _our_names(searcher.best_params_, model)
