"""Names and defaults shared by every step: one place to change them."""

from __future__ import annotations

import math
from pathlib import Path

# Where the code lives: the pd_lib package, and the project (MLproject, steps/, data/).
PD_LIB_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PD_LIB_DIR.parent

EXPERIMENT_NAME = "PD_Classification_Experiment"
MODEL_NAME = "pd_model_v1"

# Artifact paths inside a run.
LOANS_ARTIFACT = "data/loans.parquet"
DATA_SUMMARY_ARTIFACT = "data/data_summary.json"
HOLDOUT_ARTIFACT = "data/holdout_scored.parquet"
TRAIN_SCORED_ARTIFACT = "data/train_scored.parquet"
SCORED_ARTIFACT = "data/scored.parquet"
MODEL_ARTIFACT = "model"
PLOTS_DIR = "plots"
REPORT_DIR = "report"

# The loan-data schema.
TARGET_COL = "default"
ID_COL = "loan_id"
DATE_COL = "origination_date"
DATE_DTYPE = "datetime64[ns]"  # one resolution for generated and ingested dates
TRUE_PD_COL = "true_pd"
PD_COL = "pd"
NON_FEATURE_COLS = (TARGET_COL, ID_COL, DATE_COL, TRUE_PD_COL, PD_COL)

# Registry: aliases kept in step with the stages the tutorial teaches.
STAGES = ("Staging", "Production", "Archived")
STAGE_ALIASES = {"Production": "champion", "Staging": "challenger"}

# Tags written on runs and model versions.
TAG_CODE_FINGERPRINT = "pd.code_fingerprint"
TAG_DATA_URI = "pd.data_uri"
TAG_DATA_SHA256 = "pd.data_sha256"
TAG_SOURCE_SHA256 = "pd.source_sha256"
TAG_GIT_COMMIT = "pd.git_commit"
TAG_HOLDOUT_AUC = "pd.holdout_roc_auc"
TAG_SOURCE_RUN = "pd.source_run_id"
TAG_THREADS = "pd.threads"
TAG_CORE_PLAN = "pd.core_plan"
TAG_NOT_DEFINED = "pd.not_defined"  # metrics logged as NaN, each with why (issue 17)

# The champion/challenger gate (issue 28, chosen by the power analysis of
# benchmarks/gate_power.py): the challenger's AUC on its holdout is compared with the
# champion's on the same rows; an AUC loss of GATE_AUC_DETECT must be refused, and an equally
# good challenger passed, each with probability GATE_AUC_POWER. The challenger passes when
# the difference is above -GATE_AUC_DETECT / 2; a holdout whose DeLong SE is too large for
# that power decides only on conclusive evidence, else says "not enough evidence" (amber).
GATE_AUC_DETECT = 0.02
GATE_AUC_POWER = 0.80
# Confidence level of the logged AUC and Gini intervals (DeLong).
AUC_CI_LEVEL = 0.95

# Defaults of train and tune (pd_lib.params uses them; MLproject is written from there).
# train: "auto" cross-validates the kinds by log loss and keeps the best (pd_lib.modelling.
# selection; docs/model_defaults.md); random_forest stays available, as the tutorial uses it.
# tune searches one kind: HistGradientBoosting, the kind with the most to tune.
DEFAULT_MODEL = "auto"
DEFAULT_TUNE_MODEL = "hist_gradient_boosting"
# "screen": every candidate fitted once on a sample, the best 2 raced on a fold of all rows
# and the better cross-validated (pd_lib.modelling.screening; within 0.002 AUC of
# GridSearchCV at a fraction of its time, benchmarks/RESULTS.md section 4). "halving" is
# scikit-learn's HalvingGridSearchCV; "grid" is GridSearchCV, as the tutorial teaches it.
SEARCH_METHODS = ("screen", "halving", "grid")
DEFAULT_SEARCH = "screen"
# 6 candidates: tune is most of main's time, and main should not take longer than the
# tutorial's script (benchmarks/RESULTS.md, section 1). Halving pays off more with more
# candidates (section 4 also times a 27-candidate grid); pass a larger -P grid=... for that.
GRID_SYNTAX = "name=v1,v2;name=v1,v2 (e.g. n_estimators=50,100;max_depth=4,8)"
CALIBRATION_METHODS = ("auto", "none", "sigmoid", "isotonic")
DEFAULT_GRID = "learning_rate=0.05,0.1,0.2;max_depth=3,None"

# Decision threshold on the PD for label metrics (accuracy, confusion matrix).
DEFAULT_THRESHOLD = 0.5

# --- Validation (issue 5): every threshold of the metrics, lights and gate lives here. ---

# Master scale: (grade, upper PD bound) from best to worst; a loan falls into the first grade
# whose bound is >= its PD. Nine grades spanning investment grade to near-default.
MASTER_SCALE = (
    ("1", 0.005),
    ("2", 0.01),
    ("3", 0.02),
    ("4", 0.035),
    ("5", 0.06),
    ("6", 0.10),
    ("7", 0.17),
    ("8", 0.30),
    ("9", 1.0),
)
# Grading rule (issue 17): a PD is rounded to MASTER_SCALE_DECIMALS decimal places (half to
# even: numpy.round, Spark rint of PD * 1e12 / 1e12, the same IEEE arithmetic) and then compared
# exactly with the bounds. Floating-point noise (0.1 + 0.2 = 0.30000000000000004) is far below
# 1e-12 and carries no credit information; without the rounding 0.1 + 0.2 fell into grade 9 and
# 0.3 into grade 8.
MASTER_SCALE_DECIMALS = 12
# Per-grade Jeffreys lights (ECB IRB validation reporting): red below JEFFREYS_GRADE_RED, amber
# below JEFFREYS_GRADE_GREEN. Shown in the grade table and the report, counted in metrics; not
# gate light by itself; the smallest Holm-adjusted p-value across grades is (LIGHT_THRESHOLDS).
JEFFREYS_GRADE_GREEN = 0.05
JEFFREYS_GRADE_RED = 0.01

# Hosmer-Lemeshow on large samples. Like every significance test its power grows with n: on
# the 20,000-loan holdout of make_classification -P n_samples=100000 it rejected (p = 1.2e-5)
# PDs whose expected calibration error is 0.007. Above HL_SUBSAMPLE_LOANS loans the light
# reads instead the share of HL_SUBSAMPLES random subsamples of HL_SUBSAMPLE_LOANS loans
# (without replacement) whose HL p-value is below HL_SUBSAMPLE_ALPHA (Bartley 2014, Ohio
# State MS thesis; Paul, Pennell & Lemeshow 2013, Stat Med 32:67-80). Seeded: same PDs and
# flags, same share, same light.
HL_SUBSAMPLE_LOANS = 5000
HL_SUBSAMPLES = 100
HL_SUBSAMPLE_ALPHA = 0.05
HL_SUBSAMPLE_SEED = 0
# Hosmer-Lemeshow groups (issue 17): cut at the PD values' deciles (tied PDs share a group),
# then adjacent groups merged until each expects at least HL_MIN_EXPECTED defaults and as many
# non-defaults, the chi-squared approximation's usual condition (Hosmer & Lemeshow 2013, 5.2.2).
HL_GROUPS = 10
HL_MIN_EXPECTED = 5.0

# PD floor (issue 17): every validation statistic reads max(PD, PD_FLOOR), the 0.03% floor of
# CRR Article 160(1). A PD of exactly 0 fails any calibration test whatever happens, and the
# HL statistic of such a group scales with the clip constant, not with the data.
PD_FLOOR = 0.0003

# Traffic lights. For each check: the metric it reads, its category, and the green and red
# bounds. direction "lower" = smaller is better (green if value <= green, red if > red);
# "higher" = larger is better (green if value >= green, red if < red); "abs" compares |value|
# like "lower". Everything between is amber. Optional "loans": (low, high) limits a check to
# samples of low < n_loans <= high loans (pd_lib.validation.lights.applies).
LIGHT_THRESHOLDS = {
    "Discrimination (ROC AUC)": {
        "metric": "roc_auc", "category": "discrimination", "direction": "higher",
        "green": 0.70, "red": 0.60},
    # One-sided since issue 17 (the regulatory view, as the Jeffreys test): PDs too low by more
    # than 25% of the default rate are red; conservative PDs are shown (report), never red.
    "Calibration in the large (relative gap of mean PD to default rate)": {
        "metric": "calibration_in_the_large_relative", "category": "calibration",
        "direction": "higher", "green": -0.10, "red": -0.25},
    "Hosmer-Lemeshow p-value": {
        "metric": "hosmer_lemeshow_pvalue", "category": "calibration", "direction": "higher",
        "green": 0.05, "red": 0.001, "loans": (0, HL_SUBSAMPLE_LOANS)},
    # Green <= 0.10: Bartley's rule (more than 10 of 100 subsamples significant: fit suspect);
    # calibrated PDs give ~0.05 (0.01-0.05 measured on 20,000 loans). Red > 0.90 continues
    # the p-value rule across 5,000 loans: with the HL statistic noncentral chi-squared
    # (10 df), a median subsample p-value of 0.05 (that rule's green bound) means a share of
    # 0.50, a median of 0.001 (its red bound) a share of 0.90 (measured: 0.54 at a median of
    # 0.04, 0.93 at 0.0013). So red means a typical 5,000-loan sample is red by the p-value
    # rule. Measured on 20,000 loans: the make_classification 100k model (ECE 0.007) 0.41
    # (0.41-0.49 over five subsample seeds); calibrated PDs scaled by 1.1 0.54, by 1.2 1.0.
    # Red at 0.5 would refuse models that the p-value rule passes on 5,000 of their loans.
    f"Hosmer-Lemeshow, share of {HL_SUBSAMPLE_LOANS:,}-loan subsamples with p < "
    f"{HL_SUBSAMPLE_ALPHA:g}": {
        "metric": "hosmer_lemeshow_subsample_reject_share", "category": "calibration",
        "direction": "lower", "green": 0.10, "red": 0.90,
        "loans": (HL_SUBSAMPLE_LOANS, math.inf)},
    "Jeffreys test, portfolio (p-value)": {
        "metric": "jeffreys_pvalue_portfolio", "category": "calibration", "direction": "higher",
        "green": 0.05, "red": 0.01},
    # Issue 17. The ECB's per-grade Jeffreys test, Holm-adjusted across the non-empty grades
    # (family-wise false-red rate at most 1% for calibrated PDs). Added when HL's groups were
    # merged to >= 5 expected defaults and non-defaults: a model with many loans at PD 0 or 1
    # (a full tree: 129 loans at PD 0 with 8 defaults) pools into one HL group and passes HL;
    # this light refuses it (grade 1: p = 6e-18). Measured on 20,000 loans (3 seeds): calibrated
    # PDs 0.69-1.0; logit stretched by 1.2 (the HL share rule's "tolerable" misfit) 0.005-0.08;
    # by 1.5 < 1e-10.
    "Jeffreys test per grade (smallest Holm-adjusted p-value)": {
        "metric": "jeffreys_pvalue_grades_holm", "category": "calibration",
        "direction": "higher", "green": JEFFREYS_GRADE_GREEN, "red": JEFFREYS_GRADE_RED},
    "Largest CSI of a feature, train -> holdout": {
        "metric": "csi_max", "category": "stability", "direction": "lower",
        "green": 0.10, "red": 0.25},
    "PSI of the PD, holdout -> out-of-time": {
        "metric": "oot_psi", "category": "stability", "direction": "lower",
        "green": 0.10, "red": 0.25},
    "Largest CSI of a feature, train -> out-of-time": {
        "metric": "oot_csi_max", "category": "stability", "direction": "lower",
        "green": 0.10, "red": 0.25},
    "Out-of-time ROC AUC drop (holdout - out-of-time)": {
        "metric": "oot_roc_auc_drop", "category": "stability", "direction": "lower",
        "green": 0.03, "red": 0.08},
    # PSI of the PD from the training sample compares in-sample with out-of-sample PDs; on a
    # random split the populations are identical, so it shows overfitting, not drift.
    "PSI of the PD, train (in-sample) -> holdout": {
        "metric": "psi", "category": "overfitting", "direction": "lower",
        "green": 0.10, "red": 0.25},
    "Overfitting (train ROC AUC - holdout ROC AUC)": {
        "metric": "train_holdout_roc_auc_gap", "category": "overfitting", "direction": "lower",
        "green": 0.05, "red": 0.15},
}

# Monitoring a champion on a later period (issue 16, pd_lib.validation.monitoring): one block,
# the same rule format. Development = the version's holdout (PDs, AUC) and training sample
# (characteristics); period = the monitored loans. The rule-of-thumb PSI bounds and the gate's
# AUC and calibration rules are reused as they are; the AUC drop bounds are the out-of-time
# drop's. The overall status is the worst light; grey (not computable) counts as amber.
MONITOR_LIGHT_THRESHOLDS = {
    "PSI of the PD, development -> period": {
        **LIGHT_THRESHOLDS["PSI of the PD, holdout -> out-of-time"], "metric": "psi"},
    "PSI of the grade distribution, development -> period": {
        **LIGHT_THRESHOLDS["PSI of the PD, holdout -> out-of-time"], "metric": "grade_psi"},
    "Largest CSI of a characteristic, development -> period": {
        **LIGHT_THRESHOLDS["Largest CSI of a feature, train -> out-of-time"],
        "metric": "csi_max"},
    "Discrimination of the period (ROC AUC)": LIGHT_THRESHOLDS["Discrimination (ROC AUC)"],
    "ROC AUC drop, development -> period": {
        **LIGHT_THRESHOLDS["Out-of-time ROC AUC drop (holdout - out-of-time)"],
        "metric": "roc_auc_drop", "category": "discrimination"},
    "Calibration in the large (relative gap of mean PD to default rate)": LIGHT_THRESHOLDS[
        "Calibration in the large (relative gap of mean PD to default rate)"],
    "Jeffreys test, portfolio (p-value)": LIGHT_THRESHOLDS["Jeffreys test, portfolio (p-value)"],
    "Jeffreys test per grade (smallest Holm-adjusted p-value)": LIGHT_THRESHOLDS[
        "Jeffreys test per grade (smallest Holm-adjusted p-value)"],
}
# Sampling-based PSI critical values shown beside the rule of thumb (Yurdakul & Naranjo 2020:
# under no change PSI ~ (1/M + 1/N) chi2(B - 1)), at these confidence levels.
MONITOR_PSI_LEVELS = (0.95, 0.99)
# Heterogeneity: adjacent grades whose default rates do not differ at this one-sided level.
MONITOR_HETEROGENEITY_ALPHA = 0.05
MONITOR_REPORT_ARTIFACT = "report/monitoring_report.html"
MONITOR_STABILITY_ARTIFACT = "tables/monitor_stability.csv"
MONITOR_GRADES_ARTIFACT = "tables/monitor_grades.csv"
MONITOR_VINTAGES_ARTIFACT = "tables/monitor_vintages.csv"
MONITOR_HETEROGENEITY_ARTIFACT = "tables/monitor_heterogeneity.csv"
TAG_MONITOR_STATUS = "pd.monitor.status"
TAG_MONITOR_RUN = "pd.monitor.run_id"
TAG_MONITOR_PERIOD = "pd.monitor.period"
# monitor -P fail_on=red exits with this code on a red status (cron, CI); 2 is a user error.
MONITOR_RED_EXIT_CODE = 3
# reproduce exits with this code when the rebuilt model is not the registered one.
NOT_REPRODUCED_EXIT_CODE = 3

# A challenger with a red light in one of these categories cannot become champion, nor one
# whose light there is grey (the metric is NaN: a check that could not be computed is not a
# pass). Discrimination since issue 17: a first version with AUC 0.52 became champion.
GATE_BLOCKING_CATEGORIES = ("discrimination", "calibration", "stability")

# Validation plots and report: permutation importance on at most this many holdout rows.
PERMUTATION_MAX_ROWS = 2000
PERMUTATION_REPEATS = 3
GRADE_TABLE_ARTIFACT = "tables/grade_table.csv"
IMPORTANCE_ARTIFACT = "tables/feature_importance.csv"
LIGHTS_ARTIFACT = "tables/traffic_lights.csv"
SELECTION_ARTIFACT = "tables/model_selection.csv"
POINTS_TABLE_ARTIFACT = "tables/points_table.csv"
IV_RANKING_ARTIFACT = "tables/iv_ranking.csv"
REPORT_ARTIFACT = "report/validation_report.html"
# The report cover's "Registered as" until register logs its copy with the name and version.
NOT_REGISTERED = "not yet: the register step's copy of this report names the version"
OOT_ARTIFACT = "data/oot_scored.parquet"
SPLITS = ("random", "time")
# generate -P scenario=...: the development book, or a later period of it (issue 16).
SCENARIOS = ("development", "baseline", "downturn", "shift")
# The most reason codes a score or a served request may ask for.
MAX_REASONS = 20
# The registry names the promote lock takes for itself (pd_lib.mlflow_layer.governance.lock):
# a model may not be named like them (pd_lib.checks.check_model_name).
LOCK_SUFFIX = ".promote-lock"
TAKEOVER_INFIX = ".takeover-"
