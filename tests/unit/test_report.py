"""The evaluation bundle and the HTML validation report, without MLflow."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pd_lib.config import DATE_COL, HL_SUBSAMPLE_LOANS, LIGHT_THRESHOLDS, TRUE_PD_COL
from pd_lib.data.splits import split_samples
from pd_lib.modelling.factory import build_model
from pd_lib.modelling.fitting import fit
from pd_lib.validation import report as report_module
from pd_lib.validation.comparison_report import comparison_report
from pd_lib.validation.evaluation import evaluate, rate_threshold_metrics
from pd_lib.validation.figures import evaluation_figures
from pd_lib.validation.lights import Light, applies, traffic_lights
from pd_lib.validation.report import build_report
from pd_lib.validation.report_html import fmt
from pd_lib.validation.side_by_side import side_by_side_metrics

FIGURES = {"roc_curve", "confusion_matrix", "calibration_curve", "ks_curve", "pd_distribution",
           "grade_table", "feature_importance"}


@pytest.fixture(scope="module")
def dated_loans(small_loans) -> pd.DataFrame:
    """The small loans with twelve monthly vintages and a known 'true PD' column."""
    loans = small_loans.copy()
    months = pd.date_range("2021-01-01", periods=12, freq="MS")
    loans[DATE_COL] = np.repeat(months, len(loans) // 12 + 1)[: len(loans)]
    loans[TRUE_PD_COL] = np.clip(loans["default"] * 0.6 + 0.2, 0, 1)
    return loans


@pytest.fixture(scope="module")
def evaluation(dated_loans):
    samples = split_samples(dated_loans, 0.2, seed=3, split="time")
    model = fit(build_model("logistic_regression", {}, samples.train), samples.train)
    result = evaluate(model, samples.train, samples.holdout, 0.5, samples.oot, seed=3)
    yield result
    plt.close("all")


def test_evaluation_has_every_metric_family_and_figure(evaluation):
    names = set(evaluation.metrics)
    for name in ("roc_auc", "ks", "f1", "hosmer_lemeshow_pvalue", "calibration_slope",
                 "expected_calibration_error", "psi", "csi_max", "jeffreys_pvalue_portfolio",
                 "herfindahl_index", "oracle_roc_auc", "pd_mae_vs_true_pd",
                 "train_holdout_roc_auc_gap", "oot_roc_auc_drop"):
        assert name in names, name
    for prefix in ("train_", "oot_"):
        assert f"{prefix}roc_auc" in names and f"{prefix}ks" in names
    assert "oot_psi" in names and "oot_csi_max" in names
    assert set(evaluation_figures(evaluation, 0.5)) == FIGURES
    plt.close("all")
    assert evaluation.metrics["roc_auc"] == pytest.approx(
        evaluation.metrics["gini"] / 2 + 0.5)


def test_every_light_of_the_config_is_evaluated_on_a_time_split(evaluation):
    """No light reads a metric that evaluate() never produces (a typo would hide a check);
    on this small holdout, every rule but those for larger samples."""
    small = {"n_loans": evaluation.metrics["n_loans"]}
    assert evaluation.metrics["n_loans"] <= HL_SUBSAMPLE_LOANS
    assert {li.metric for li in evaluation.lights} == {
        rule["metric"] for rule in LIGHT_THRESHOLDS.values() if applies(rule, small)}


def test_evaluation_is_deterministic(dated_loans, evaluation):
    samples = split_samples(dated_loans, 0.2, seed=3, split="time")
    model = fit(build_model("logistic_regression", {}, samples.train), samples.train)
    again = evaluate(model, samples.train, samples.holdout, 0.5, samples.oot, seed=3)
    plt.close("all")
    assert again.metrics == pytest.approx(evaluation.metrics, nan_ok=True)
    pd.testing.assert_frame_equal(again.importance, evaluation.importance)


def test_grade_table_counts_the_holdout(evaluation):
    assert evaluation.grade_table["count"].sum() == len(evaluation.holdout_scored)


@pytest.fixture(scope="module")
def report(evaluation) -> str:
    return build_report({"Run": "abc123", "model": "logistic_regression"},
                        evaluation.metrics, evaluation.lights, evaluation.grade_table,
                        evaluation_figures(evaluation, 0.5))


def test_report_has_its_sections(report):
    for anchor in ("lights", "metrics", "master-scale", "plots", "stability"):
        assert f'id="{anchor}"' in report
    assert report.startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    assert "abc123" in report and "Out-of-time" in report and "Jeffreys p-value" in report


def test_report_embeds_every_figure_as_a_png(report):
    images = re.findall(r'<img alt="([a-z_]+)" src="data:image/png;base64,([^"]+)"', report)
    assert {name for name, _ in images} == FIGURES
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "src=\"http" not in report and "<script" not in report  # self-contained


def test_report_writes_thresholds_next_to_each_light(report, evaluation):
    for light in evaluation.lights:
        assert light.check.replace("&", "&amp;").replace(">", "&gt;") in report
        assert light.thresholds.replace(">", "&gt;").replace("<", "&lt;") in report


def test_report_says_when_the_gate_will_refuse(evaluation):
    red = Light("PSI of the PD, train -> holdout", "psi", 0.4, "red",
                "green <= 0.1 / amber 0.1-0.25 / red > 0.25", "stability")
    page = build_report({}, evaluation.metrics, [red], evaluation.grade_table, {})
    assert "the promotion gate will refuse this model" in page
    assert 'class="red-row"' in page
    calm = build_report({}, evaluation.metrics, [], evaluation.grade_table, {})
    assert "the gate's own checks pass" in calm


def test_report_says_which_hosmer_lemeshow_rule_judged_a_large_sample(evaluation):
    large = {**evaluation.metrics, "n_loans": 20000.0, "hosmer_lemeshow_pvalue": 1.2e-5,
             "hosmer_lemeshow_subsample_reject_share": 0.41}
    found = traffic_lights(large)
    page = build_report({}, large, found, evaluation.grade_table, {})
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split('id="metrics"')[0])
    (share_row,) = [row for row in rows if "subsamples with p &lt; 0.05" in row]
    assert "amber" in share_row and "20,000 loans; rule for more than 5,000 loans" in share_row
    assert not any(">Hosmer-Lemeshow p-value<" in row for row in rows)
    assert ("Hosmer-Lemeshow p-value = 1.2e-05: not judged (20,000 loans; rule for at most "
            "5,000 loans)") in page


def test_report_escapes_html_in_names(evaluation):
    page = build_report({"model": "<b>x</b>"}, evaluation.metrics, [], evaluation.grade_table,
                        {})
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


# --- issue 17: intervals, ECB forms, not-defined metrics, conservatism ---------------------


def _metric_row(page: str, label: str) -> str:
    (row,) = [r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page) if f">{label}<" in r]
    return row


def test_report_shows_auc_intervals_the_ecb_herfindahl_and_per_grade_jeffreys_lights(report,
                                                                                     evaluation):
    m = evaluation.metrics
    assert m["roc_auc_ci_lower"] < m["roc_auc"] <= m["roc_auc_ci_upper"]
    for bound in ("lower", "upper"):
        cell = f"<td>{fmt(m[f'roc_auc_ci_{bound}'])}</td>"
        assert cell in _metric_row(report, f"ROC AUC, 95% interval: {bound}")
    assert "Gini, 95% interval: lower" in report
    assert "in the ECB's form" in report and fmt(m["herfindahl_index_ecb"]) in report
    assert "Per-grade Jeffreys lights" in report and "Jeffreys light" in report
    assert "Jeffreys p-value, Holm-adjusted" in report
    assert set(evaluation.grade_table["jeffreys_light"]) <= {"green", "amber", "red", ""}


def test_report_shows_not_defined_metrics_with_the_reason(evaluation):
    values = {**evaluation.metrics, "roc_auc": float("nan")}
    page = build_report({}, values, traffic_lights(values), evaluation.grade_table, {},
                        not_defined={"roc_auc": "the sample has no defaults"})
    assert "not defined" in _metric_row(page, "ROC AUC")
    assert "<code>roc_auc</code>: the sample has no defaults" in page
    assert "red or grey (not defined) light(s)" in page  # a grey AUC light blocks


def test_report_shows_conservatism_without_blocking(evaluation):
    values = {**evaluation.metrics, "calibration_in_the_large_relative": 0.30}
    page = build_report({}, values, [], evaluation.grade_table, {})
    assert "the mean PD is 30% above the observed default rate" in page
    assert "Conservatism" not in build_report({}, {**values,
                                                    "calibration_in_the_large_relative": 0.05},
                                              [], evaluation.grade_table, {})


# --- the cover, decisions at the default rate, the champion-versus-challenger page (issue 13)


def _light(colour: str, category: str = "calibration") -> Light:
    return Light(check=f"a {category} check", metric="m", value=0.0, colour=colour,
                 thresholds="t", category=category)


def test_conclusion_names_the_blocking_lights_or_says_the_lights_pass():
    passing = [_light("green"), _light("amber", "discrimination")]
    assert report_module.conclusion(passing).startswith("Passes")
    refused = report_module.conclusion(passing + [_light("red")])
    assert refused.startswith("Would be refused") and "red calibration: a calibration check" \
        in refused
    # a red light outside the blocking categories does not block
    assert report_module.conclusion(passing + [_light("red", "decisions")]).startswith("Passes")


def test_the_cover_comes_first_with_its_conclusion(evaluation):
    cover = {"Model": "logistic_regression", "Data SHA-256": "abc<def>"}
    html_text = build_report({"Run": "r"}, evaluation.metrics, evaluation.lights,
                             evaluation.grade_table, evaluation_figures(evaluation, 0.5),
                             cover=cover)
    body = html_text[html_text.index("<body>"):]
    assert body.index('class="cover"') < body.index('id="lights"')
    assert "abc&lt;def&gt;" in body and "Conclusion:" in body


def test_decisions_at_the_default_rate_match_sklearn():
    from sklearn.metrics import precision_score, recall_score

    rng = np.random.default_rng(0)
    pd_pred = rng.beta(1, 12, 4000)
    y = (rng.random(4000) < pd_pred).astype(int)
    rate = float(y.mean())
    values = rate_threshold_metrics(y, pd_pred, rate)
    labels = (pd_pred >= rate).astype(int)
    assert values["decision_threshold_rate"] == rate
    assert values["precision_at_rate"] == pytest.approx(precision_score(y, labels))
    assert values["recall_at_rate"] == pytest.approx(recall_score(y, labels))
    # at 0.5 (the tutorial's cut) these rare defaults are almost never predicted
    assert (pd_pred >= 0.5).mean() < 0.01 < values["recall_at_rate"]


def test_side_by_side_numbers_are_each_models_own():
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rng = np.random.default_rng(1)
    truth = rng.beta(1, 9, 3000)
    y = (rng.random(3000) < truth).astype(int)
    noisy = np.clip(truth + rng.normal(0, 0.05, 3000), 0.001, 0.999)
    table = side_by_side_metrics(y, {"A": truth, "B": noisy}).set_index("check")
    assert table.loc["ROC AUC", "A"] == pytest.approx(roc_auc_score(y, truth))
    assert table.loc["ROC AUC", "B"] == pytest.approx(roc_auc_score(y, noisy))
    assert table.loc["Brier score", "B"] == pytest.approx(brier_score_loss(y, noisy))


def test_comparison_page_lists_the_verdict_and_every_failure():
    table = pd.DataFrame({"check": ["ROC AUC"], "Challenger v2": [0.7], "Champion v1": [0.8]})
    page = comparison_report({"Model": "m"}, "refused: version 2 failed 2 check(s)",
                             ["first <failure>", "second failure"], table, {})
    assert "refused: version 2" in page
    assert "first &lt;failure&gt;" in page and "second failure" in page
    assert "Challenger v2" in page and "Champion v1" in page


def test_a_chosen_blend_names_its_members_in_the_model_section():
    from pd_lib.validation.model_section import model_html

    selection = pd.DataFrame({"kind": ["blend", "logistic_regression", "scorecard"],
                              "cv_log_loss": [0.49, 0.50, 0.51], "chosen": [True, False, False]})
    text = model_html({"method": "none", "rows": 0}, selection)
    assert "model=auto chose <b>blend</b>" in text
    assert "near ties (within one standard error) go to the blend of all kinds" in text
    assert "mean log-odds of every kind's calibrated PD (logistic_regression, scorecard)" in text
    single = model_html({"method": "none", "rows": 0},
                        selection.assign(chosen=[False, True, False]))
    assert "mean log-odds" not in single
    large = model_html({"method": "none", "rows": 0}, selection.iloc[1:].assign(
        chosen=[True, False]))
    assert "near ties (within one standard error) go to the simpler kind." in large
