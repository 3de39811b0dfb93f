"""Figures for a model run; each function returns a matplotlib Figure (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve  # noqa: E402


def roc_curve_figure(
    y_true: np.ndarray, pd_pred: np.ndarray, oracle_pd: np.ndarray | None = None
) -> Figure:
    """ROC curve of the model, with the true-PD (oracle) curve when it is known."""
    curves = {"Model": pd_pred}
    if oracle_pd is not None:
        curves["True PD (best possible)"] = oracle_pd
    return roc_curves_figure(y_true, curves)


def roc_curves_figure(y_true: np.ndarray, curves: dict[str, np.ndarray]) -> Figure:
    """ROC curves of several PDs of the same loans (label -> PDs)."""
    fig, ax = plt.subplots(figsize=(6, 5))
    for label, scores in curves.items():
        fpr, tpr, _ = roc_curve(y_true, scores)
        ax.plot(fpr, tpr, label=f"{label}, AUC = {roc_auc_score(y_true, scores):.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Random, AUC = 0.5")
    ax.set(
        xlabel="False positive rate (non-defaulters flagged)",
        ylabel="True positive rate (defaulters caught)",
        title="ROC curve on the holdout",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def confusion_matrix_figure(y_true: np.ndarray, pd_pred: np.ndarray, threshold: float) -> Figure:
    """Counts of observed vs predicted default at the decision threshold."""
    labels = (np.asarray(pd_pred) >= threshold).astype(int)
    counts = confusion_matrix(y_true, labels, labels=[0, 1])
    fig, ax = plt.subplots(figsize=(5, 4))
    sns.heatmap(
        counts,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        xticklabels=["No default", "Default"],
        yticklabels=["No default", "Default"],
        ax=ax,
    )
    ax.set(
        xlabel=f"Predicted (PD >= {threshold:g})",
        ylabel="Observed",
        title="Confusion matrix on the holdout",
    )
    fig.tight_layout()
    return fig


def calibration_curve_figure(
    y_true: np.ndarray, pd_pred: np.ndarray, n_bins: int = 10, oracle_pd: np.ndarray | None = None
) -> Figure:
    """Reliability curve of the model, with the true-PD (oracle) curve when it is known."""
    curves = {"Model": pd_pred}
    if oracle_pd is not None:
        curves["True PD (best possible)"] = oracle_pd
    return calibration_curves_figure(y_true, curves, n_bins)


def calibration_curves_figure(y_true: np.ndarray, curves: dict[str, np.ndarray],
                              n_bins: int = 10) -> Figure:
    """Reliability curves: observed default rate against mean PD in equal-count PD bins, on
    log-log axes in percent so low-PD bins are readable; bins without defaults sit on the
    floor."""
    floor = 1e-3
    fig, ax = plt.subplots(figsize=(6, 5))
    low, high = 1.0, floor
    for (label, scores), style in zip(curves.items(), ("o-", "s--", "^-."), strict=False):
        observed, predicted = calibration_curve(y_true, scores, n_bins=n_bins,
                                                strategy="quantile")
        predicted = np.maximum(predicted, floor)
        line, = ax.plot(predicted, np.maximum(observed, floor), style, label=label)
        empty = observed == 0
        if empty.any():
            ax.plot(predicted[empty], np.full(empty.sum(), floor), "v", color=line.get_color(),
                    markersize=9, label=f"{label}: bin without defaults (drawn at {floor:.1%})")
        low = min(low, float(predicted.min()), float(np.maximum(observed, floor).min()))
        high = max(high, float(predicted.max()), float(observed.max()))
    low, high = low / 1.5, min(1.0, high * 1.5)
    ax.plot([low, high], [low, high], linestyle=":", color="grey", label="Perfect calibration")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:g}%"))
        axis.set_minor_formatter(NullFormatter())
    ax.set(
        xlim=(low, high), ylim=(low, high),
        xlabel=f"Mean predicted PD in the bin (log scale; {n_bins} bins of equal loan count)",
        ylabel="Observed default rate in the bin (log scale)",
        title="Calibration (reliability) on the holdout",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def ks_curve_figure(y_true: np.ndarray, pd_pred: np.ndarray) -> Figure:
    """Cumulative shares of defaulters and non-defaulters against the share of all loans,
    ranked from lowest to highest PD, with the KS gap (either way) marked."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(pd_pred, dtype=float)
    grid = np.unique(p)
    share_all = np.searchsorted(np.sort(p), grid, side="right") / p.size
    cdf_bad = np.searchsorted(np.sort(p[y == 1]), grid, side="right") / max((y == 1).sum(), 1)
    cdf_good = np.searchsorted(np.sort(p[y == 0]), grid, side="right") / max((y == 0).sum(), 1)
    gap = cdf_good - cdf_bad
    at = int(np.argmax(np.abs(gap)))  # two-sided, as metrics.ks_statistic
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot(np.r_[0, share_all], np.r_[0, cdf_good], label="Non-defaulters")
    ax.plot(np.r_[0, share_all], np.r_[0, cdf_bad], label="Defaulters")
    ax.vlines(share_all[at], cdf_bad[at], cdf_good[at], colors="black", linestyles="--",
              label=f"KS = {abs(gap[at]):.3f} (at PD {grid[at]:.3f})"
              + ("" if gap[at] >= 0 else ", ranking inverted"))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="No discrimination")
    ax.set(
        xlabel="Share of all loans, ranked from lowest to highest PD",
        ylabel="Cumulative share of the group",
        title="Kolmogorov-Smirnov curve on the holdout",
        xlim=(0, 1), ylim=(0, 1.02),
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def pd_distribution_figure(y_true: np.ndarray, pd_pred: np.ndarray) -> Figure:
    """Histograms (densities) of the PD for defaulters and non-defaulters, log PD axis."""
    floor = 1e-4
    y = np.asarray(y_true, dtype=int)
    p = np.clip(np.asarray(pd_pred, dtype=float), floor, 1.0)
    fig, ax = plt.subplots(figsize=(6, 5))
    bins = np.logspace(np.log10(max(float(p.min()), floor)), 0, 41)
    ax.hist(p[y == 0], bins=bins, alpha=0.55, weights=np.full((y == 0).sum(),
            1 / max((y == 0).sum(), 1)), label=f"Non-defaulters (n = {(y == 0).sum()})")
    ax.hist(p[y == 1], bins=bins, alpha=0.55, weights=np.full((y == 1).sum(),
            1 / max((y == 1).sum(), 1)), label=f"Defaulters (n = {(y == 1).sum()})")
    ax.set_xscale("log")
    ax.set(
        xlabel=f"Predicted PD (log scale; PDs below {floor:g} drawn at {floor:g})",
        ylabel="Share of the group's loans in the bin",
        title="PD distribution of defaulters and non-defaulters (holdout)",
    )
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def grade_table_figure(table: pd.DataFrame, jeffreys_red: float = 0.01,
                       sample: str = "the holdout") -> Figure:
    """Mean PD and observed default rate per grade (log scale), with loan counts, grades whose
    Jeffreys p-value is below ``jeffreys_red`` marked."""
    used = table[table["count"] > 0]
    x = np.arange(len(used))
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.4
    floor = 1e-4
    ax.bar(x - width / 2, np.maximum(used["mean_pd"], floor), width, label="Mean predicted PD")
    ax.bar(x + width / 2, np.maximum(used["observed_default_rate"], floor), width,
           label="Observed default rate (drawn at 0.01% when 0)")
    ax.set_yscale("log")
    ax.set_ylim(floor * 0.5, 300.0)
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_yticks([1e-4, 1e-3, 1e-2, 1e-1, 1.0], ["0.01%", "0.1%", "1%", "10%", "100%"])
    ax.minorticks_off()
    for i, row in enumerate(used.itertuples(index=False)):
        flag = "\nPD too low!" if row.jeffreys_pvalue < jeffreys_red else ""
        ax.annotate(f"n={row.count}\nd={row.defaults}{flag}", (i, 250.0), xytext=(0, 0),
                    textcoords="offset points", ha="center", va="top", fontsize=8,
                    color="#c62828" if flag else "black")
    ax.set_xticks(x, [f"grade {g}\n{lo * 100:g}-{hi * 100:g}%" for g, lo, hi in
                      zip(used["grade"], used["pd_lower"], used["pd_upper"], strict=True)],
                  fontsize=8)
    ax.set(
        xlabel="Rating grade and its PD band (n = loans, d = defaults)",
        ylabel="Default rate (log scale)",
        title=f"Master scale on {sample}: predicted vs observed default rate per grade\n"
              f"(PD too low! = Jeffreys p-value < {jeffreys_red:g})",
    )
    ax.legend(loc="center left", fontsize=9, ncols=2, bbox_to_anchor=(0.0, 0.79),
              frameon=False)
    fig.tight_layout()
    return fig


def feature_importance_figure(importance: pd.DataFrame, max_features: int = 20) -> Figure:
    """Horizontal bars of permutation importance (mean drop in ROC AUC, +/- one std)."""
    top = importance.head(max_features).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.35 * len(top) + 1.5)))
    ax.barh(top["feature"], top["importance_mean"], xerr=top["importance_std"], color="C0")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set(
        xlabel="Drop in holdout ROC AUC when the feature is shuffled (mean +/- std)",
        ylabel="Feature",
        title="Permutation feature importance on the holdout",
    )
    fig.tight_layout()
    return fig


def vintage_figure(vintages: pd.DataFrame, psi_green: float = 0.10, psi_red: float = 0.25
                   ) -> Figure:
    """Per origination month: loans (bars), mean PD against the observed default rate, and
    the PSI of the month's PDs from development with the rule-of-thumb bounds."""
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    x = np.arange(len(vintages))
    top.bar(x, vintages["loans"], color="#90a4ae")
    top.set(ylabel="Loans", title="Per vintage: volume, PD against outcome, stability")
    middle.plot(x, vintages["mean_pd"], marker="o", label="Mean PD")
    if vintages["observed_default_rate"].notna().any():
        middle.plot(x, vintages["observed_default_rate"], marker="s",
                    label="Observed default rate")
    middle.set(ylabel="Rate")
    middle.set_ylim(bottom=0)
    middle.legend(fontsize=9, frameon=False)
    bottom.plot(x, vintages["psi"], marker="o", color="#6a1b9a", label="PSI of the PD")
    bottom.axhline(psi_green, color="#f9a825", linestyle="--", linewidth=1, label="amber above")
    bottom.axhline(psi_red, color="#c62828", linestyle="--", linewidth=1, label="red above")
    bottom.set(ylabel="PSI from development")
    bottom.set_ylim(0, max(psi_red * 1.2, float(vintages["psi"].max()) * 1.1))
    bottom.legend(fontsize=9, frameon=False, ncols=3)
    bottom.set_xticks(x, vintages["month"], rotation=45, fontsize=8)
    fig.tight_layout()
    return fig


def woe_figure(bins: pd.DataFrame, characteristic: str) -> Figure:
    """One scorecard characteristic: event rate (bars) and WoE (line) per bin."""
    fig, ax = plt.subplots(figsize=(7, 4))
    positions = np.arange(len(bins))
    ax.bar(positions, bins["event_rate"], color="#4c72b0", alpha=0.7, label="event rate")
    ax.set_ylabel("event rate (default rate)")
    ax.set_xticks(positions, [str(b)[:18] for b in bins["bin"]], rotation=35, ha="right",
                  fontsize=8)
    woe_axis = ax.twinx()
    woe_axis.plot(positions, bins["woe"], color="#dd8452", marker="o", label="WoE")
    woe_axis.set_ylabel("WoE = ln(non-event share / event share)")
    ax.set_title(f"{characteristic}: event rate and WoE per bin")
    fig.tight_layout()
    return fig
