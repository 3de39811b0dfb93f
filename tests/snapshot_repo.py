"""A git repository holding the project as it is on disk, committed (for the reproduce tests).

A version can be reproduced only from committed code; the checkout under test may carry
uncommitted edits (a developer's), so the tests commit a copy of its tracked and untracked,
not ignored files into a fresh repository and run the steps from there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers import PROJECT_ROOT

GIT_IDENTITY = ["-c", "user.name=pd-tests", "-c", "user.email=pd-tests@localhost"]


def git(repository: Path, *args: str) -> str:
    """Run git in ``repository``; its stdout."""
    return subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repository, check=True,
                          capture_output=True, text=True).stdout.strip()


def snapshot_repository(destination: Path) -> tuple[Path, str]:
    """The project's files copied into ``destination`` and committed; (path, commit)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=PROJECT_ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file() and not source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source.readlink())
    git(destination, "init", "--quiet")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "-m", "snapshot for the reproduce tests")
    return destination, git(destination, "rev-parse", "HEAD")
