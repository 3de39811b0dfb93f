"""GridSearchCV against the faster searches over the same grid, on the same rows and folds.

    python -m benchmarks.tuning --n-samples 100000 [--source synthetic] [--grid ...]
        [--methods screen,halving,grid]

Each runs through pd_lib.tuning.run_search exactly as the tune step does (same model, grid,
folds, parallel fits), back to back in one process, in the order given. Prints ``RESULT {json}``
with each method's seconds, candidates, best parameters, best CV AUC and the holdout AUC of
its refit best model.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.model_kinds import load_samples
from pd_lib.cores import take_step_share

DEFAULT_GRID = "learning_rate=0.05,0.1,0.2;max_depth=3,6,None;min_samples_leaf=20,100,400"


def _fits(searcher, cv: int) -> int:
    """Models fitted, the refit of the best included: screen counts its own (``n_fits_``;
    the winner's first fold is its race fit), scikit-learn's searches one per candidate and
    split."""
    if hasattr(searcher, "n_fits_"):
        return searcher.n_fits_ + 1
    return len(searcher.cv_results_["params"]) * cv + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--model", default="hist_gradient_boosting")
    parser.add_argument("--grid", default=DEFAULT_GRID)
    parser.add_argument("--methods", default="screen,halving,grid")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    from pd_lib.config import TARGET_COL
    from pd_lib.data.schema import feature_columns
    from pd_lib.modelling.search import best_params, parse_grid, run_search

    threads = take_step_share()
    train, holdout, source = load_samples(args.source, args.n_samples, args.seed)
    grid = parse_grid(args.grid, args.model)
    rows = []
    for method in args.methods.split(","):
        started = time.perf_counter()
        searcher = run_search(args.model, grid, train, args.cv, method, args.seed)
        seconds = time.perf_counter() - started
        holdout_pd = searcher.best_estimator_.predict_pd(holdout[feature_columns(holdout)])
        rows.append({
            "method": method, "seconds": seconds,
            "fits": _fits(searcher, args.cv),
            "best_params": best_params(searcher, args.model),
            "best_cv_roc_auc": float(searcher.best_score_),
            "holdout_roc_auc": float(roc_auc_score(holdout[TARGET_COL], holdout_pd)),
        })
    print("RESULT " + json.dumps({"n_samples": args.n_samples, "source": source,
                                  "model": args.model, "grid": args.grid, "threads": threads,
                                  "rows": rows}, default=str))


if __name__ == "__main__":
    main()
