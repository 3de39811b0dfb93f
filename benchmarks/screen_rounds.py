"""The screen search's race on one fold against cross-validating both finalists on every fold.

    python -m benchmarks.screen_rounds [--sources synthetic,make_classification]
        [--seeds 1-5] [--n-samples 100000] [--grid ...] [--markdown FILE]

Per book (source and seed; make_classification with 20 features), tune's default search runs
as the tune step runs it (pd_lib.modelling.search.run_search). Its round 1 fits the two
finalists on the first fold and completes the folds of the better one only. Here the
runner-up's other folds are fitted as well, on the same folds, to see what cross-validating
both on every fold would have chosen; where that choice differs, both finalists are refit on
all training rows (without calibration) and scored on the holdout. Prints a table and one
``RESULT {json}`` line: per book the two choices, the holdout ROC AUC of each where they
differ, and the fits each way.
"""

from __future__ import annotations

import argparse
import json
import statistics

from benchmarks.common import markdown_table
from benchmarks.scenarios import seeds_of

N_FEATURES = 20


def _finalists(searcher) -> list[tuple[dict, float]]:
    """The finalists of round 1 (fitted on the first fold) and their fold-1 ROC AUC."""
    results = searcher.cv_results_
    return [(p, s) for p, s, n, r in zip(results["params"], results["mean_test_score"],
                                         results["n_splits"], results["iter"], strict=True)
            if n == 1 and r == max(results["iter"]) - 1]


def measure_book(source: str, seed: int, n_samples: int, grid_text: str, cv: int) -> dict:
    """One book: the race's choice, the all-folds choice, and holdout AUCs where they differ."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    from pd_lib.config import TARGET_COL
    from pd_lib.data.schema import feature_columns
    from pd_lib.data.sources import load_loans
    from pd_lib.data.splits import split_data
    from pd_lib.modelling.screening import (
        cross_validation_rows,
        fit_and_score_candidate,
        params_key,
    )
    from pd_lib.modelling.search import parse_grid, run_search

    book = load_loans(source, n_samples, N_FEATURES, 0.1, seed)
    samples = split_data(book, 0.2, seed)
    train, holdout = samples.train, samples.holdout
    model = "hist_gradient_boosting"
    searcher = run_search(model, parse_grid(grid_text, model), train, cv, "screen", seed)
    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    rows = cross_validation_rows(y, seed)
    if rows is not None:
        X, y = X.iloc[rows], y[rows]
    folds = list(searcher.cv.split(X, y))
    finalists = _finalists(searcher)
    chosen = searcher.best_params_
    runner_up, runner_up_fold_1 = next((p, s) for p, s in finalists
                                       if params_key(p) != params_key(chosen))
    runner_up_scores = [runner_up_fold_1] + [
        fit_and_score_candidate(searcher.estimator, runner_up, X.iloc[fit], y[fit], X.iloc[score],
                       y[score])[0] for fit, score in folds[1:]]
    all_folds_choice = chosen if searcher.best_score_ >= np.mean(runner_up_scores) \
        else runner_up
    record = {
        "source": source, "seed": seed, "race_choice": chosen,
        "all_folds_choice": all_folds_choice, "same": all_folds_choice == chosen,
        "race_cv_roc_auc": float(searcher.best_score_),
        "runner_up_cv_roc_auc": float(np.mean(runner_up_scores)),
        "fits_race": len(finalists) + cv - 1, "fits_all_folds": len(finalists) * cv,
    }
    if not record["same"]:
        features = feature_columns(holdout)
        for name, params in (("race", chosen), ("all_folds", all_folds_choice)):
            refit = clone(searcher.estimator).set_params(**params).fit(
                train[features], train[TARGET_COL].to_numpy())
            record[f"holdout_roc_auc_{name}"] = float(roc_auc_score(
                holdout[TARGET_COL], refit.predict_pd(holdout[features])))
    return record


def _short(params: dict) -> str:
    """A candidate's parameters under the names the grid uses."""
    return json.dumps({k.rsplit("__", 1)[-1]: v for k, v in params.items()})


def _holdout_gap(book: dict) -> float:
    """Holdout ROC AUC of the race's choice minus that of the all-folds choice."""
    return book["holdout_roc_auc_race"] - book["holdout_roc_auc_all_folds"]


def report(books: list[dict]) -> list[str]:
    """A markdown table, one row per book, and the summary line."""
    rows = [[b["source"], b["seed"], _short(b["race_choice"]),
             "same" if b["same"] else _short(b["all_folds_choice"]),
             f"{b['race_cv_roc_auc']:.4f}", f"{b['runner_up_cv_roc_auc']:.4f}",
             "" if b["same"] else f"{_holdout_gap(b):+.4f}",
             f"{b['fits_race']} / {b['fits_all_folds']}"] for b in books]
    differing = [b for b in books if not b["same"]]
    gaps = [_holdout_gap(b) for b in differing]
    summary = (f"the race chose as all folds would in {len(books) - len(differing)} of "
               f"{len(books)} books" + (
                   f"; where not, holdout ROC AUC race minus all folds: median "
                   f"{statistics.median(gaps):+.4f}, worst {min(gaps):+.4f}" if gaps else ""))
    return [markdown_table(["source", "seed", "race's choice", "all folds' choice",
                            "race's CV AUC", "runner-up's CV AUC (all folds)",
                            "holdout AUC, race - all folds", "round-1 and 2 fits, race / all"],
                           rows), "", f"- {summary}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="synthetic,make_classification")
    parser.add_argument("--seeds", default="1-5")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--grid", default="learning_rate=0.05,0.1,0.2;max_depth=3,None")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--markdown", default="")
    args = parser.parse_args()
    from pd_lib.cores import take_step_share

    take_step_share()
    books = [measure_book(source, seed, args.n_samples, args.grid, args.cv)
             for source in args.sources.split(",") for seed in seeds_of(args.seeds)]
    lines = report(books)
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "a") as out:
            out.write("\n" + "\n".join(lines) + "\n")
    print("RESULT " + json.dumps({"n_samples": args.n_samples, "grid": args.grid,
                                  "books": books}, default=str))


if __name__ == "__main__":
    main()
