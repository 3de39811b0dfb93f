"""The code a version was built from, checked out again: a recorded git commit exported into a
temporary tree, and that tree's code fingerprint (for ``reproduce``, issue 30).

Exported with ``git archive`` (no work tree, branch or lock is added to the repository). A
commit the local repository lacks is looked for at the run's recorded git URL (a version
trained by ``mlflow run <git URL>``), cloned into the temporary folder and deleted with it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pd_lib.config import PROJECT_ROOT
from pd_lib.errors import PipelineError, mask_secrets

log = logging.getLogger(__name__)

GIT_TIMEOUT = 300  # seconds for one git command (a clone of a large remote included)
FINGERPRINT_CODE = ("from pd_lib.mlflow_layer.fingerprint import code_fingerprint; "
                    "print(code_fingerprint())")


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT)


def commit_is_known(repository: Path, commit: str) -> bool:
    """Whether ``repository`` holds ``commit`` (False outside a git repository or without git)."""
    try:
        return _git(["cat-file", "-e", f"{commit}^{{commit}}"], repository).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _export(repository: Path, commit: str, destination: Path) -> None:
    archive = _git(["archive", "--format=tar", commit], repository)
    if archive.returncode != 0:
        raise PipelineError(f"git archive of commit {commit} failed: "
                            f"{archive.stderr.decode(errors='replace').strip()[:300]}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")


def _clone(repo_url: str, into: Path) -> Path | None:
    """A bare clone of ``repo_url`` in ``into``, or None when it cannot be cloned."""
    clone = into / "clone.git"
    try:
        done = _git(["clone", "--quiet", "--bare", repo_url, str(clone)], into)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        log.warning("cannot clone %s: %s", mask_secrets(repo_url),
                    mask_secrets(done.stderr.decode(errors="replace").strip()[:300]))
        return None
    return clone


@contextlib.contextmanager
def checked_out(commit: str, repo_url: str = "", repository: Path = PROJECT_ROOT
                ) -> Iterator[Path]:
    """A temporary tree holding ``commit``'s files, from ``repository`` or else from a clone
    of ``repo_url``; removed on leaving. Refuses a commit neither has, naming both."""
    if not commit:
        raise PipelineError("the version records no git commit (it was built outside a git "
                            "checkout); it cannot be rebuilt from its code.")
    with tempfile.TemporaryDirectory(prefix="pd-reproduce-") as tmp:
        source = repository if commit_is_known(repository, commit) else None
        if source is None and repo_url:
            log.info("commit %s is not in %s; cloning %s", commit[:12], repository,
                     mask_secrets(repo_url))
            clone = _clone(repo_url, Path(tmp))
            source = clone if clone is not None and commit_is_known(clone, commit) else None
        if source is None:
            where = f"the repository at {repository}" + (
                f" nor at {mask_secrets(repo_url)}" if repo_url else "")
            raise PipelineError(f"commit {commit} is unknown to {where}; fetch it (git fetch "
                                "--all) or run reproduce from a clone that has it.")
        tree = Path(tmp) / "tree"
        tree.mkdir()
        _export(source, commit, tree)
        log.info("checked out commit %s into a temporary tree", commit[:12])
        yield tree


def tree_fingerprint(tree: Path) -> str:
    """The code fingerprint of ``tree`` as its own code computes it (the rule may differ
    between commits); "" when that code cannot say."""
    try:
        done = subprocess.run([sys.executable, "-c", FINGERPRINT_CODE], cwd=tree,
                              capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines else ""
