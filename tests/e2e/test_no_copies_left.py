"""No copy of a loan book stays outside the store (issue 29): train, score and monitor read
downloaded artifacts from a temporary folder that is gone when the step ends, whether it
succeeded or refused the data."""

from __future__ import annotations

import tempfile

from pd_lib.config import LOANS_ARTIFACT
from steps.generate import generate
from steps.train import train
from tests.e2e.test_steps import SMALL, _only_run
from tests.helpers import invoke


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_train_leaves_no_copy_of_the_loans_after_success_or_refusal(tracking_uri, runner,
                                                                     tmp_path, monkeypatch):
    assert invoke(runner, generate, SMALL).exit_code == 0
    data_uri = f"runs:/{_only_run('generate').info.run_id}/{LOANS_ARTIFACT}"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the steps' copies land
    done = invoke(runner, train, ["--data-uri", data_uri, "--model", "logistic_regression"])
    assert done.exit_code == 0, done.output
    assert not [f for f in _files(scratch) if f.endswith(".parquet")], _files(scratch)
    # refused after the download: no origination date for a time split
    refused = invoke(runner, train, ["--data-uri", data_uri, "--split", "time"])
    assert refused.exit_code == 2, refused.output
    assert not [f for f in _files(scratch) if f.endswith(".parquet")], _files(scratch)
