"""The comparison behind reproduce (pd_lib.validation.reproduction) and the checkout of a
recorded commit (pd_lib.code_checkout), without a store."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from pd_lib.code_checkout import checked_out, commit_is_known
from pd_lib.errors import PipelineError
from pd_lib.validation.reproduction import (
    PD_TOLERANCE,
    Reproduction,
    choice_differences,
    judge,
    metric_differences,
    pd_difference,
    reproduction_html,
)


def _scored(pds, ids=None) -> pd.DataFrame:
    return pd.DataFrame({"loan_id": ids or [f"L{i}" for i in range(len(pds))], "pd": pds})


def test_pd_difference_is_the_largest_gap_loan_by_loan():
    gap, why = pd_difference(_scored([0.1, 0.2, 0.3]), _scored([0.1, 0.25, 0.3]))
    assert why == "" and gap == pytest.approx(0.05)
    assert pd_difference(_scored([0.1, 0.2]), _scored([0.1, 0.2]))[0] == 0.0


def test_pd_difference_refuses_other_loans_or_another_count():
    gap, why = pd_difference(_scored([0.1, 0.2]), _scored([0.1, 0.2], ["L1", "L0"]))
    assert math.isnan(gap) and "2 of 2 ids differ" in why
    gap, why = pd_difference(_scored([0.1, 0.2]), _scored([0.1]))
    assert math.isnan(gap) and "2 loans in the original, 1 rebuilt" in why


def test_metric_differences_skip_timings_and_treat_nan_as_equal():
    original = {"roc_auc": 0.8, "ks": math.nan, "fit_seconds": 3.0, "gini": 0.6}
    rebuilt = {"roc_auc": 0.8 + PD_TOLERANCE / 2, "ks": math.nan, "fit_seconds": 9.0,
               "gini": 0.61, "brier_score": 0.1}
    compared, largest, differing = metric_differences(original, rebuilt)
    assert compared == 4  # roc_auc, ks, gini, brier_score; not the timing
    assert largest == pytest.approx(0.01)
    assert set(differing) == {"gini", "brier_score"}
    assert math.isnan(differing["brier_score"][0])


def test_judge_lists_every_difference_and_passes_only_equal_rebuilds():
    same = judge(Reproduction("m", "1", "r", data_sha256="ab", rebuilt_data_sha256="ab",
                              max_pd_difference=0.0))
    assert same.reproduced and same.as_dict()["reproduced"] is True
    other = Reproduction("m", "1", "r", data_sha256="ab", rebuilt_data_sha256="cd",
                         max_pd_difference=1e-6, differing_metrics={"roc_auc": [0.8, 0.7]},
                         choices=choice_differences({"selected_model": "a"},
                                                    {"selected_model": "b"}))
    problems = judge(other).problems
    assert len(problems) == 4 and not other.reproduced
    assert "cd is not the recorded ab" in problems[0]
    assert "up to 1e-06" in problems[1]
    assert "selected_model was 'a', rebuilt 'b'" in problems[3]
    nan_gap = judge(Reproduction("m", "1", "r", max_pd_difference=np.nan))
    assert any("holdout PDs differ" in p for p in nan_gap.problems)


def test_the_report_says_the_verdict_and_escapes_the_lineage():
    result = judge(Reproduction("m", "3", "r", data_sha256="ab", rebuilt_data_sha256="ab",
                                max_pd_difference=0.0, holdout_loans=400))
    page = reproduction_html(result, {"Data file": "<book>.csv"})
    assert "reproduced: the rebuilt model gives the same PDs" in page
    assert "&lt;book&gt;.csv" in page and "<book>" not in page


git_missing = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _repository(path) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "--quiet", str(path)], check=True)
    (path / "MLproject").write_text("name: x\n")
    subprocess.run(["git", "-C", str(path), "add", "MLproject"], check=True)
    subprocess.run(["git", *identity, "-C", str(path), "commit", "--quiet", "-m", "x"],
                   check=True)
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


@git_missing
def test_a_known_commit_is_exported_and_removed_afterwards(tmp_path):
    commit = _repository(tmp_path / "repo")
    assert commit_is_known(tmp_path / "repo", commit)
    with checked_out(commit, repository=tmp_path / "repo") as tree:
        assert (tree / "MLproject").read_text() == "name: x\n"
        assert not (tree / ".git").exists()
    assert not tree.exists()


@git_missing
def test_an_unknown_commit_is_refused_naming_where_it_was_looked_for(tmp_path):
    _repository(tmp_path / "repo")
    unknown = "0123456789abcdef0123456789abcdef01234567"
    assert not commit_is_known(tmp_path / "repo", unknown)
    with pytest.raises(PipelineError, match=f"commit {unknown} is unknown to the repository "
                                            f"at {tmp_path / 'repo'} nor at /nowhere"):
        with checked_out(unknown, "/nowhere", repository=tmp_path / "repo"):
            pass
    with pytest.raises(PipelineError, match="records no git commit"):
        with checked_out("", repository=tmp_path / "repo"):
            pass
