"""Scorecard and reason-code speed (issue 15's goals).

    python -m benchmarks.scorecard [--fit-rows 100000] [--score-rows 1000000]
                                   [--reason-rows 100000]

Times, on the synthetic book: fitting model=scorecard (no calibration stage) on
``--fit-rows`` loans (goal < 60 s); scoring ``--score-rows`` loans with the fitted scorecard
(goal >= 100,000 rows/s); reason codes (4 per loan) for ``--reason-rows`` loans from the
scorecard and from hist_gradient_boosting (goal < 30 s each); and, as the baseline of the
same run, the PDs alone of the same rows. Prints ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from benchmarks.model_kinds import load_book
from pd_lib.data.schema import feature_columns


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit-rows", type=int, default=100_000)
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    parser.add_argument("--reason-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    from pd_lib.modelling.factory import build_model
    from pd_lib.modelling.reasons import reason_frame

    book, _ = load_book("synthetic", args.fit_rows, args.seed)
    X, y = book[feature_columns(book)], book["default"].to_numpy()
    card, fit_s = _timed(lambda: build_model("scorecard", {"calibration": "none"}, X,
                                             args.seed).fit(X, y))
    repeats = -(-args.score_rows // len(X))
    big = pd.concat([X] * repeats, ignore_index=True).head(args.score_rows)
    _, score_s = _timed(lambda: card.predict(big))
    rows = big.head(args.reason_rows)
    _, card_reasons_s = _timed(lambda: reason_frame(card, rows, 4))
    hgb = build_model("hist_gradient_boosting", {"calibration": "none"}, X, args.seed).fit(X, y)
    _, hgb_pd_s = _timed(lambda: hgb.predict(rows))
    _, hgb_reasons_s = _timed(lambda: reason_frame(hgb, rows, 4))
    result = {
        "fit_rows": len(X), "scorecard_fit_s": round(fit_s, 4),
        "characteristics": len(card.estimator_.characteristics_),
        "score_rows": len(big), "scorecard_rows_per_s": round(len(big) / score_s),
        "reason_rows": len(rows), "scorecard_reasons_s": round(card_reasons_s, 4),
        "hgb_reasons_s": round(hgb_reasons_s, 4), "hgb_pd_only_s": round(hgb_pd_s, 4),
        "hgb_reasons_over_pd": round(hgb_reasons_s / max(hgb_pd_s, 1e-9), 1),
        "hgb_trees": int(np.size(hgb.estimator_._predictors)),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
