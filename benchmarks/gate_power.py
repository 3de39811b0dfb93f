"""Power analysis of the champion gate's AUC comparison (issue 28): how often each candidate
rule passes an equally good challenger and refuses one 0.02 AUC worse, by holdout size and
by how much the two models disagree.

The simulation of the issue: a holdout of n loans with true logit ~ N(-2.75, 1.25) (about
9.9% defaults), default ~ Bernoulli(sigmoid(logit)); each model scores truth + N(0, tau)
noise, independent between the models (the larger tau, the less the two models agree and
the larger the SE of their difference). An equally good challenger has the champion's tau;
a worse one the tau whose population AUC is 0.02 lower (found by quadrature, not sampling).
Each replication computes DeLong's paired difference and SE once and applies every rule to
it. Prints a markdown table per rule and ``RESULT {json}``.

With ``--retrains``, real models instead: boosting (its size-aware defaults) trained on five
synthetic books of 10,000 loans (seeds 1-5, 80/20 split, the quick start's book size); the
first is the champion and each other is compared with it on its own holdout, as the gate
does after a monthly retrain.

    python -m benchmarks.gate_power --reps 1000
    python -m benchmarks.gate_power --retrains
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import numpy as np
from scipy import stats
from scipy.special import expit

from benchmarks.common import markdown_table
from pd_lib.config import GATE_AUC_DETECT, GATE_AUC_POWER
from pd_lib.validation.auc_comparison import (
    PASS,
    REFUSE,
    UNDECIDED,
    compare_aucs,
    decide,
    delong_difference,
)

LOGIT_MEAN, LOGIT_SD = -2.75, 1.25
SIZES = (1_000, 2_000, 4_000, 6_000, 10_000, 20_000)
NOISES = (0.3, 0.6, 1.0)
LOSS = 0.02  # the "worse" challenger's population AUC loss

Rule = Callable[[float, float], str]


def noninferiority(margin: float, alpha: float) -> Rule:
    """DeLong non-inferiority at ``margin``, one-sided level ``alpha`` (the old gate was
    margin 0.005, alpha 0.05): pass when the lower bound is above -margin, else refuse."""
    z = stats.norm.ppf(1.0 - alpha)
    return lambda d, se: PASS if d - z * se > -margin else REFUSE


RULES: dict[str, Rule] = {
    "old: non-inferiority 0.005 at 5%": noninferiority(0.005, 0.05),
    "non-inferiority 0.015 at 20%": noninferiority(0.015, 0.20),
    "point estimate above -0.01": lambda d, se: PASS if d > -LOSS / 2 else REFUSE,
    "chosen: midpoint, amber when SE too large": lambda d, se: decide(
        d, se, GATE_AUC_DETECT, GATE_AUC_POWER),
}


def _logit_grid(points: int = 801) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over the true logit with the (normalised) weights of defaulters and of
    non-defaulters."""
    grid = np.linspace(LOGIT_MEAN - 8 * LOGIT_SD, LOGIT_MEAN + 8 * LOGIT_SD, points)
    density = stats.norm.pdf(grid, LOGIT_MEAN, LOGIT_SD)
    bad, good = density * expit(grid), density * (1.0 - expit(grid))
    return grid, bad / bad.sum(), good / good.sum()


def population_auc(noise: float, other_noise: float | None = None) -> float:
    """P(score of a defaulter > score of a non-defaulter) for scores truth + N(0, noise):
    the model's AUC on an infinite holdout, by quadrature over both true logits."""
    grid, bad, good = _logit_grid()
    spread = np.sqrt(2.0) * noise
    gap = grid[:, None] - grid[None, :]
    return float(bad @ stats.norm.cdf(gap / spread) @ good)


def noise_for_loss(noise: float, loss: float = LOSS) -> float:
    """The noise whose population AUC is ``loss`` below that of ``noise`` (bisection)."""
    target = population_auc(noise) - loss
    low, high = noise, noise + 10.0
    for _ in range(40):
        middle = (low + high) / 2.0
        low, high = (middle, high) if population_auc(middle) > target else (low, middle)
    return (low + high) / 2.0


def simulated_differences(n: int, noise_old: float, noise_new: float, reps: int, seed: int
                          ) -> np.ndarray:
    """``reps`` rows of (AUC difference new - old, DeLong SE) on fresh holdouts of n loans."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(reps):
        truth = rng.normal(LOGIT_MEAN, LOGIT_SD, n)
        y = (rng.random(n) < expit(truth)).astype(int)
        old = expit(truth + rng.normal(0.0, noise_old, n))
        new = expit(truth + rng.normal(0.0, noise_new, n))
        _, _, difference, se = delong_difference(y, new, old)
        rows.append((difference, se))
    return np.array(rows)


def decision_rates(draws: np.ndarray, rule: Rule) -> dict[str, float]:
    """Share of draws the rule passes, refuses and leaves undecided."""
    decisions = [rule(d, se) for d, se in draws]
    return {outcome: decisions.count(outcome) / len(decisions)
            for outcome in (PASS, REFUSE, UNDECIDED)}


def power_table(sizes: tuple[int, ...], noises: tuple[float, ...], reps: int, seed: int
                ) -> list[dict]:
    """Per holdout size and noise: each rule's rates on equal and on 0.02-worse challengers,
    and the median SE."""
    rows = []
    for noise in noises:
        worse = noise_for_loss(noise)
        for n in sizes:
            equal = simulated_differences(n, noise, noise, reps, seed + n)
            loss = simulated_differences(n, noise, worse, reps, seed + n + 1)
            row = {"noise": noise, "worse_noise": round(worse, 4), "loans": n,
                   "auc": round(population_auc(noise), 4),
                   "median_se": float(np.median(np.concatenate([equal[:, 1], loss[:, 1]])))}
            for name, rule in RULES.items():
                row[name] = {"equal": decision_rates(equal, rule),
                             "worse": decision_rates(loss, rule)}
            rows.append(row)
            print(f"noise {noise} loans {n}: median SE {row['median_se']:.4f}", flush=True)
    return rows


def _percent(share: float) -> str:
    return f"{share:.0%}"


def markdown(rows: list[dict]) -> str:
    """One table per rule: equal passed, worse refused, and (chosen rule) amber shares."""
    parts = []
    for name in RULES:
        headers = ["noise (AUC)", "loans", "median SE", "equal: passed", "equal: amber",
                   "0.02 worse: refused", "0.02 worse: amber"]
        body = [[f"{r['noise']} ({r['auc']})", f"{r['loans']:,}", f"{r['median_se']:.4f}",
                 _percent(r[name]["equal"][PASS]), _percent(r[name]["equal"][UNDECIDED]),
                 _percent(r[name]["worse"][REFUSE]), _percent(r[name]["worse"][UNDECIDED])]
                for r in rows]
        parts.append(f"**{name}**\n\n" + markdown_table(headers, body))
    return "\n\n".join(parts)


def retrain_comparisons(seeds: tuple[int, ...], loans: int) -> list[dict]:
    """The gate's AUC comparison of retrains on other books with the first book's model."""
    from pd_lib.data.schema import feature_columns
    from pd_lib.data.sources import load_loans
    from pd_lib.data.splits import split_samples
    from pd_lib.modelling.factory import build_model

    models, holdouts = [], []
    for seed in seeds:
        book = load_loans("synthetic", loans, 10, 0.1, seed)
        samples, features = split_samples(book, 0.2, seed), feature_columns(book)
        models.append(build_model("hist_gradient_boosting", {}, samples.train[features],
                                  seed=seed).fit(samples.train[features],
                                                 samples.train["default"].to_numpy()))
        holdouts.append(samples.holdout)
    rows = []
    for seed, model, holdout in zip(seeds[1:], models[1:], holdouts[1:], strict=True):
        features = feature_columns(holdout)
        result = compare_aucs(holdout["default"].to_numpy(), model.predict_pd(holdout[features]),
                              models[0].predict_pd(holdout[features]), GATE_AUC_DETECT,
                              GATE_AUC_POWER)
        old_rule = RULES["old: non-inferiority 0.005 at 5%"](result.difference, result.se)
        rows.append({"seed": seed, "holdout_loans": len(holdout),
                     "difference": result.difference, "se": result.se,
                     "decision": result.decision, "old_rule": old_rule})
        print(f"book seed {seed}: difference {result.difference:+.4f}, SE {result.se:.4f}, "
              f"{result.decision} (old rule: {old_rule})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--retrains", action="store_true",
                        help="compare real retrains on five 10,000-loan books instead")
    args = parser.parse_args()
    if args.retrains:
        rows = retrain_comparisons((1, 2, 3, 4, 5), 10_000)
        print("RESULT " + json.dumps({"retrains": rows}))
        return
    sizes = tuple(int(s) for s in args.sizes.split(","))
    rows = power_table(sizes, NOISES, args.reps, args.seed)
    print(markdown(rows))
    print("RESULT " + json.dumps({"reps": args.reps, "seed": args.seed, "rows": rows}))


if __name__ == "__main__":
    main()
