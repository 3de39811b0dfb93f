"""A long fit says it is still working at least every PROGRESS_SECONDS (issue 29: a random
forest with absurdly many trees ran for minutes without a word)."""

from __future__ import annotations

import logging
import time

from pd_lib.data.sources import load_loans
from pd_lib.modelling import fitting
from pd_lib.modelling.factory import build_model


def _progress_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "still running" in r.getMessage()]


def test_a_block_longer_than_the_interval_logs_progress(monkeypatch, caplog):
    monkeypatch.setattr(fitting, "PROGRESS_SECONDS", 0.2)
    with caplog.at_level(logging.INFO, logger="pd_pipeline"):
        with fitting.progress("fitting something on 3 rows"):
            time.sleep(1.1)
        time.sleep(0.5)  # nothing after the block ends
    lines = _progress_lines(caplog)
    assert 3 <= len(lines) <= 5, lines  # at 0.2, 0.4, ... 1.0 s; fewer on a loaded machine
    assert lines[0].startswith("fitting something on 3 rows: still running, 0 s so far")


def test_a_short_block_logs_no_progress(caplog):
    with caplog.at_level(logging.INFO, logger="pd_pipeline"):
        with fitting.progress("quick"):
            pass
    assert _progress_lines(caplog) == []


def test_a_forest_fit_says_it_is_still_running(monkeypatch, caplog):
    monkeypatch.setattr(fitting, "PROGRESS_SECONDS", 0.1)
    loans = load_loans("synthetic", 3000, 10, 0.1, 1)
    model = build_model("random_forest", {"n_estimators": 300, "calibration": "none"},
                        loans.drop(columns=["default"]))
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="pd_pipeline"):
        fitting.fit(model, loans)
    elapsed = time.perf_counter() - started
    lines = _progress_lines(caplog)
    assert elapsed < 0.3 or lines, elapsed
    assert all(line.startswith("fitting RandomForestClassifier on 3,000 rows: still running")
               for line in lines)
