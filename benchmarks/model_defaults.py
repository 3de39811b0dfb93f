"""The default model judged on several books, holdout and 5-fold CV (issue 12's yardstick).

    python -m benchmarks.model_defaults [--books german synthetic_3k ...] [--kinds auto ...]
                                        [--no-cv] [--out benchmarks/_work/model_defaults.json]

For each book and kind: a 20% stratified holdout (seed 42, as train splits) and 5-fold
stratified CV (seed 42) of the model exactly as ``train -P model=<kind>`` builds it (defaults
for the sample size, calibration="auto"). Per sample: ROC AUC, AUC / true-PD AUC (synthetic
books), Brier, log loss, calibration slope, ECE, ECE against the true PD, the Hosmer-Lemeshow
p-value or subsample share, and the worst calibration light; CV rows are fold means, with the
worst fold's light. Prints one ``RESULT {json}`` line per (book, kind) and a markdown table.

ECE against the true PD: row-weighted mean over 10 equal-count bins of the model PD of
|mean model PD - mean true PD|. The weak book stands in for a 6,000-loan credit-card file
the validators keep back: the synthetic book at a 22% default rate with 4 weak columns.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from benchmarks.common import ROOT, markdown_table
from pd_lib.cores import take_step_share
from pd_lib.validation.metrics import pd_metrics

ORDER = {"green": 0, "grey": 0, "amber": 1, "red": 2}
WEAK_COLUMNS = ["loan_id", "age", "term", "home_ownership", "inquiries", "default"]


def _synthetic(n: int, rate: float = 0.1) -> pd.DataFrame:
    from pd_lib.data.schema import integer_features_as_float
    from pd_lib.data.synthetic import synthetic_loan_book

    return integer_features_as_float(synthetic_loan_book(n, rate, 42))


def _german() -> pd.DataFrame:
    from pd_lib.data.sources import load_loans

    return load_loans(str(ROOT / "data" / "german_credit.csv"), 0, 0, 0.1, 42,
                      target="creditability", label_map="bad=1,good=0")


def _make_classification() -> pd.DataFrame:
    from pd_lib.data.sources import load_loans

    return load_loans("make_classification", 100_000, 20, 0.1, 42)


BOOKS: dict[str, Callable[[], pd.DataFrame]] = {
    "german": _german,
    "synthetic_3k": lambda: _synthetic(3_000),
    "synthetic_10k": lambda: _synthetic(10_000),
    "synthetic_20k": lambda: _synthetic(20_000),
    "synthetic_100k": lambda: _synthetic(100_000),
    "make_classification_100k_x20": _make_classification,
    "weak_6k": lambda: _synthetic(6_000, 0.22)[WEAK_COLUMNS],
}


def ece_against_true_pd(pd_pred: np.ndarray, true_pd: np.ndarray) -> float:
    """Row-weighted mean |mean PD - mean true PD| over 10 equal-count bins of the PD."""
    groups = np.array_split(np.argsort(pd_pred, kind="mergesort"), 10)
    return float(sum(len(g) * abs(pd_pred[g].mean() - true_pd[g].mean()) for g in groups)
                 / len(pd_pred))


def fit_default(kind: str, train: pd.DataFrame, seed: int = 42):
    """The model ``train -P model=<kind>`` fits (auto: what choose_kind picks, fitted as train
    fits it)."""
    from pd_lib.config import TARGET_COL
    from pd_lib.data.schema import feature_columns
    from pd_lib.modelling.factory import build_model
    from pd_lib.modelling.kinds import AUTO
    from pd_lib.modelling.selection import choose_kind, fit_chosen

    X, y = train[feature_columns(train)], train[TARGET_COL].to_numpy()
    if kind != AUTO:
        return build_model(kind, {}, X, seed).fit(X, y), kind
    selection = choose_kind(X, y, {}, seed)
    return fit_chosen(selection, X, y, {}, seed), selection.winner


def score(model, sample: pd.DataFrame) -> dict:
    """The metrics of one sample, and its worst calibration light."""
    from pd_lib.config import TARGET_COL, TRUE_PD_COL
    from pd_lib.data.schema import feature_columns
    from pd_lib.validation.lights import traffic_lights
    from pd_lib.validation.master_scale import grade_table, master_scale_metrics

    p = model.predict_pd(sample[feature_columns(sample)])
    y = sample[TARGET_COL].to_numpy()
    truth = sample[TRUE_PD_COL].to_numpy() if TRUE_PD_COL in sample else None
    metrics = pd_metrics(y, p, 0.5, truth)
    metrics.update(master_scale_metrics(grade_table(y, p), y, p))  # the Jeffreys lights
    lights = [li for li in traffic_lights(metrics) if li.category == "calibration"]
    row = {"auc": metrics["roc_auc"], "brier": metrics["brier_score"],
           "log_loss": metrics["log_loss"], "slope": metrics["calibration_slope"],
           "ece": metrics["expected_calibration_error"],
           "hl": metrics.get("hosmer_lemeshow_subsample_reject_share",
                             metrics["hosmer_lemeshow_pvalue"]),
           "light": max((li.colour for li in lights), key=ORDER.get, default="grey")}
    if truth is not None:
        row["auc_vs_oracle"] = metrics["roc_auc"] / metrics["oracle_roc_auc"]
        row["ece_true_pd"] = ece_against_true_pd(p, truth)
        row["slope_true_pd"] = metrics["oracle_calibration_slope"]
        row["slope_vs_true"] = metrics["calibration_slope_vs_true_pd"]
    return row


def holdout_and_cv(book: pd.DataFrame, kind: str, cv: bool) -> list[dict]:
    """One row for the holdout, one for the 5-fold CV means."""
    from pd_lib.config import TARGET_COL
    from pd_lib.data.splits import split_samples

    samples = split_samples(book, 0.2, 42)
    started = time.perf_counter()
    model, chosen = fit_default(kind, samples.train)
    seconds = time.perf_counter() - started
    rows = [{"sample": "holdout", "chosen": chosen, "calibration": model.calibration_method_,
             "fit_seconds": seconds, **score(model, samples.holdout)}]
    if not cv:
        return rows
    folds = StratifiedKFold(5, shuffle=True, random_state=42)
    scored = []
    for fit_rows, test_rows in folds.split(book, book[TARGET_COL]):
        fold_model, _ = fit_default(kind, book.iloc[fit_rows].reset_index(drop=True))
        scored.append(score(fold_model, book.iloc[test_rows].reset_index(drop=True)))
    means = {k: float(np.mean([s[k] for s in scored])) for k in scored[0] if k != "light"}
    worst = max((s["light"] for s in scored), key=ORDER.get)
    rows.append({"sample": "5-fold CV", "chosen": "", "calibration": "", "fit_seconds": None,
                 **means, "light": worst})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", nargs="+", default=list(BOOKS), choices=list(BOOKS))
    parser.add_argument("--kinds", nargs="+", default=["auto"])
    parser.add_argument("--no-cv", action="store_true", help="holdout only")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    take_step_share()
    table = []
    for name in args.books:
        book = BOOKS[name]()
        for kind in args.kinds:
            for row in holdout_and_cv(book, kind, not args.no_cv):
                row = {"book": name, "rows": len(book), "kind": kind, **row}
                print("RESULT " + json.dumps(row), flush=True)
                table.append(row)
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=2))
    columns = ["book", "kind", "sample", "chosen", "calibration", "auc", "auc_vs_oracle",
               "brier", "log_loss", "slope", "slope_true_pd", "slope_vs_true", "ece", "ece_true_pd",
               "hl", "light", "fit_seconds"]
    print(markdown_table(columns, [[_cell(r.get(c, "")) for c in columns] for r in table]))


def _cell(value: object) -> str:
    """Four decimals for metrics (1.0 stays 1.0000), one for seconds, text as it is."""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


if __name__ == "__main__":
    main()
