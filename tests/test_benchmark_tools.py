"""The benchmarks' measuring helpers measure what they claim (no timing assertions)."""

from __future__ import annotations

import sys

from benchmarks.common import markdown_table, result_line, run_measured

ALLOCATE = ("import time; block = bytearray({mib} * 1024 * 1024); block[::4096] = b'x' * "
            "len(block[::4096]); time.sleep(0.5); print('RESULT {{\"ok\": 1}}')")


def test_peak_memory_of_a_process_and_of_its_tree():
    grandchild = ALLOCATE.format(mib=150)
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    done = run_measured([sys.executable, "-c", child])
    assert done.returncode == 0
    assert done.peak_process_mib >= 150  # the grandchild, reported through wait4
    assert done.peak_tree_mib >= 150  # sampled from /proc while it slept
    assert result_line(done.stdout) == {"ok": 1}


def test_a_failing_command_reports_its_exit_code():
    done = run_measured([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert done.returncode == 3


def test_markdown_table_shape():
    table = markdown_table(["a", "b"], [[1, 0.5], ["x", 1234.5]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | 0.5000 |", "| x | 1,234.5 |"]
