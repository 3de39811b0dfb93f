"""How often each monitoring scenario gives the verdict docs/synthetic_loan_book.md promises,
over seeds: the share of seeds behind the doc's table (issue 27: at the default seed 42 the
baseline was red, which the doc did not say).

Per seed, the recipe of tests/unit/test_monitoring_verdicts.py: a 20,000-loan synthetic
development book, boosting with its size-aware defaults fitted on 80% of it, and a
20,000-loan period per scenario (baseline, downturn, shift) scored and judged by
pd_lib.validation.monitoring.monitor. Prints a table per scenario and ``RESULT {json}``.

    python -m benchmarks.scenarios --seeds 1-20,42
"""

from __future__ import annotations

import argparse
import functools
import json
from collections import Counter

from benchmarks.common import markdown_table
from pd_lib.cores import take_step_share
from pd_lib.data.schema import feature_columns
from pd_lib.data.sources import load_loans
from pd_lib.data.splits import split_samples
from pd_lib.modelling.factory import build_model
from pd_lib.validation.monitoring import Monitoring, monitor

LOANS = 20_000
SCENARIOS = ("baseline", "downturn", "shift")
PROMISED = {"baseline": ("green", "amber"), "downturn": ("red",), "shift": ("red", "amber")}


def seeds_of(text: str) -> list[int]:
    """``1-20,42`` -> [1, ..., 20, 42]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


@functools.lru_cache(maxsize=8)
def development(seed: int) -> tuple:
    """The recipe's champion for ``seed``: (model, scored holdout, training sample, features)."""
    book = load_loans("synthetic", LOANS, 10, 0.1, seed)
    samples = split_samples(book, 0.2, seed)
    features = feature_columns(book)
    model = build_model("hist_gradient_boosting", {}, samples.train[features], seed=seed).fit(
        samples.train[features], samples.train["default"].to_numpy())
    holdout = samples.holdout.assign(pd=model.predict_pd(samples.holdout[features]))
    return model, holdout, samples.train, features


def judge(seed: int, scenario: str) -> Monitoring:
    """The recipe's champion for ``seed`` monitored on that seed's ``scenario`` period."""
    model, holdout, train, features = development(seed)
    period = load_loans("synthetic", LOANS, 10, 0.1, seed, scenario=scenario)
    return monitor(holdout, train, period.assign(pd=model.predict_pd(period[features])),
                   features)


def verdicts(seed: int) -> dict[str, dict]:
    """Each scenario's status and the worst colour of each light category, for one seed."""
    found = {}
    order = ("green", "amber", "red")
    for scenario in SCENARIOS:
        result = judge(seed, scenario)
        worst: dict[str, str] = {}
        for light in result.lights:
            if light.colour in order and order.index(light.colour) >= order.index(
                    worst.get(light.category, "green")):
                worst[light.category] = light.colour
        found[scenario] = {"status": result.status, **worst,
                           "red": sorted(li.metric for li in result.lights if li.colour == "red")}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20,42")
    args = parser.parse_args()
    take_step_share()
    seeds = seeds_of(args.seeds)
    rows = {seed: verdicts(seed) for seed in seeds}
    for scenario in SCENARIOS:
        statuses = Counter(rows[s][scenario]["status"] for s in seeds)
        kept = sum(rows[s][scenario]["status"] in PROMISED[scenario] for s in seeds)
        print(f"\n{scenario}: promised {' or '.join(PROMISED[scenario])}; held on {kept} of "
              f"{len(seeds)} seeds ({', '.join(f'{k} {v}' for k, v in statuses.items())})\n")
        print(markdown_table(["seed", "status", "discrimination", "calibration", "stability",
                              "red lights"],
                             [[s, rows[s][scenario]["status"],
                               rows[s][scenario].get("discrimination", "-"),
                               rows[s][scenario].get("calibration", "-"),
                               rows[s][scenario].get("stability", "-"),
                               ", ".join(rows[s][scenario]["red"]) or "-"] for s in seeds]))
    print("RESULT " + json.dumps({str(s): v for s, v in rows.items()}))


if __name__ == "__main__":
    main()
