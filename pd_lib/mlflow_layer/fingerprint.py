"""What code a run ran: the code fingerprint (SHA-256 of MLproject, the env files, steps/ and
pd_lib/) and the git commit."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from pd_lib.config import PROJECT_ROOT

FINGERPRINTED = ("MLproject", "python_env.yaml", "requirements.txt", "steps", "pd_lib")


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over the code a step runs: MLproject, env files, steps/ and pd_lib/ (.py only).

    MLflow records only the HEAD commit, even for a tree with uncommitted edits; this
    fingerprint changes with any edit, so an edited step is never served from a stale run.
    """
    digest = hashlib.sha256()
    for name in FINGERPRINTED:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """HEAD commit of the project, or "" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()
