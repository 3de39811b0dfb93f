"""Checks of single parameter values that need nothing but the value: ranges and names.

A ground module (config and errors only), so a step refuses ``--test-size 1.5`` or
``-P stage=Prod`` before it imports pandas, scikit-learn or MLflow (pd_lib.params runs these
first), and the layers that use the values check them with the same functions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pd_lib.config import (
    DEFAULT_SEARCH,
    LOCK_SUFFIX,
    MAX_REASONS,
    SEARCH_METHODS,
    SPLITS,
    STAGES,
    TAKEOVER_INFIX,
)
from pd_lib.errors import PipelineError


def check_test_size(test_size: float) -> None:
    """The holdout share must leave something on both sides."""
    if not 0.0 < test_size < 1.0:
        raise PipelineError(f"test_size must be between 0 and 1 (e.g. 0.2); got {test_size}.")


def check_split(split: str) -> None:
    """``split`` must be random or time."""
    if split not in SPLITS:
        raise PipelineError(f"unknown split '{split}'; choose {' or '.join(SPLITS)}.")


def check_search(search: str, cv: int) -> None:
    """Refuse unknown search methods and fewer than 2 folds."""
    if search not in SEARCH_METHODS:
        raise PipelineError(f"unknown search '{search}'; choose one of "
                            f"{', '.join(SEARCH_METHODS)} ({DEFAULT_SEARCH} is the fast default).")
    if cv < 2:
        raise PipelineError(f"cv must be at least 2 folds; got {cv}.")


def check_reasons(k: int) -> int:
    """A number of reasons between 0 and MAX_REASONS, or a clear error."""
    if not 0 <= int(k) <= MAX_REASONS:
        raise PipelineError(f"reasons must be between 0 and {MAX_REASONS} (4 is the usual "
                            f"adverse-action count); got {k}.")
    return int(k)


def check_threshold(threshold: float) -> None:
    """A decision threshold on a PD lies strictly between 0 and 1."""
    if not 0.0 < threshold < 1.0:
        raise PipelineError(f"threshold must be between 0 and 1 (a PD, e.g. 0.5); got "
                            f"{threshold}.")


def check_stage(stage: str) -> str:
    """The stage, spelled as MLflow wants it, or a clear error."""
    for known in STAGES:
        if stage.strip().lower() == known.lower():
            return known
    raise PipelineError(f"unknown stage '{stage}'; choose one of {', '.join(STAGES)}.")


def check_force(force: bool, reason: str) -> None:
    """Overriding the gate needs a reason that is recorded with the promotion."""
    if force and not str(reason).strip():
        raise PipelineError("force needs a reason: add -P reason='why this version must win'.")


ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")  # mlflow.utils.env_manager's


def check_env_manager(env_manager: str) -> None:
    """The environment manager main runs its steps under: one MLflow knows, or empty (main's
    own)."""
    if env_manager and env_manager not in ENV_MANAGERS:
        raise PipelineError(f"unknown env_manager '{env_manager}'; choose one of "
                            f"{', '.join(ENV_MANAGERS)}, or leave it empty for main's own.")


MODEL_NAME_MAX_LENGTH = 100
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED_NAME_PARTS = (LOCK_SUFFIX, TAKEOVER_INFIX)


def check_model_name(name: str) -> str:
    """A registered model's name: letters, digits, '_', '-' and '.', starting with a letter
    or digit, at most MODEL_NAME_MAX_LENGTH characters, and not one the promote lock uses. A
    name that a URI, a shell or a filter string would cut (``/``, ``$(``, a newline) never
    reaches the registry."""
    if not name or not _MODEL_NAME.fullmatch(name) or len(name) > MODEL_NAME_MAX_LENGTH:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise PipelineError(f"model_name {shown!r} is not a usable name: use letters, digits, "
                            f"'_', '-' and '.' (at most {MODEL_NAME_MAX_LENGTH} characters), "
                            "e.g. pd_model_v1.")
    if any(part in name for part in RESERVED_NAME_PARTS):
        raise PipelineError(f"model_name '{name}' is reserved for the promote lock "
                            f"({', '.join(RESERVED_NAME_PARTS)}); choose another name.")
    return name


SEED_MAX = 2 ** 32 - 1  # numpy's RandomState and scikit-learn take seeds up to this


def check_seed(seed: int) -> None:
    """A seed numpy and scikit-learn accept."""
    if not 0 <= int(seed) <= SEED_MAX:
        raise PipelineError(f"seed must be between 0 and {SEED_MAX}; got {seed}.")


def check_points_scale(pdo: float, base_odds: float) -> None:
    """A scorecard's points scale: points to double the odds and the base odds are positive
    (pdo=0 divides by zero)."""
    if not pdo > 0:
        raise PipelineError(f"pdo (points to double the odds) must be positive, e.g. 20; got "
                            f"{pdo}.")
    if not base_odds > 0:
        raise PipelineError(f"base_odds must be positive, e.g. 50; got {base_odds}.")


def check_target(target: str) -> None:
    """The label column's name: an empty one names no column (a user file's target is
    renamed to 'default'; 'default' is the usual name)."""
    if not str(target).strip():
        raise PipelineError(f"target {target!r} names no column; pass the label column of the "
                            "loan file, e.g. target=bad_flag (default: 'default').")


def check_leaf_size(min_samples_leaf: object, n_rows: int) -> None:
    """A minimum leaf (or scorecard bin) size that leaves room for one split of ``n_rows``
    training rows: two leaves of that size. 0, None or '' mean the kind's default."""
    if min_samples_leaf in (None, "", "None", "none"):
        return
    leaf = int(float(min_samples_leaf))  # type: ignore[arg-type]
    if leaf > n_rows // 2:
        raise PipelineError(f"min_samples_leaf {leaf} leaves no split in {n_rows} training rows "
                            f"(a split needs two leaves that large); use at most {n_rows // 2}, "
                            "or 0 for the kind's default.")


def check_folds(cv: int, n_rows: int, n_defaults: int) -> None:
    """Stratified folds: each of ``cv`` folds needs at least one default and one non-default,
    so cv is at most the smaller class's count among the ``n_rows`` training rows."""
    smaller = min(n_defaults, n_rows - n_defaults)
    if cv > smaller:
        which = "defaults" if n_defaults <= n_rows - n_defaults else "non-defaults"
        raise PipelineError(f"cv {cv} is more folds than the {smaller} {which} among the "
                            f"{n_rows} training rows (each fold needs some of each class); "
                            f"use at most {smaller} (3 or 5 is usual).")


# Peak memory of generating a book, per loan, measured on 1,000,000 loans (peak RSS less the
# interpreter's): the synthetic book 400 bytes, make_classification with 10 features 250
# (its float64 matrix, the frame built from it and the target); with a margin for writing it.
SYNTHETIC_BYTES_PER_LOAN = 500
GENERATORS = ("synthetic", "make_classification")


def generated_bytes(source: str, n_samples: int, n_features: int) -> int:
    """About the most memory generating ``n_samples`` loans takes."""
    per_loan = (SYNTHETIC_BYTES_PER_LOAN if source == "synthetic"
                else 24 * (max(int(n_features), 0) + 3))
    return int(n_samples) * per_loan


def available_memory() -> int | None:
    """Bytes this process may still take: the kernel's MemAvailable, or less where a cgroup
    (a container's memory limit) allows less; None where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(int(limit) - int(used))
    except OSError:
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return max(min(found), 0) if found else None


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return ""  # unreachable


def check_generated_size(source: str, n_samples: int, n_features: int,
                         available: int | None = None) -> None:
    """Refuse a generated book that cannot fit in memory, before a byte is allocated (numpy
    would raise its MemoryError, or the kernel kill the step, after minutes of work)."""
    if source not in GENERATORS:
        return
    available = available_memory() if available is None else available
    needed = generated_bytes(source, n_samples, n_features)
    if available is None or needed <= available:
        return
    most = available // max(generated_bytes(source, 1, n_features), 1)
    raise PipelineError(f"n_samples {n_samples} needs about {_size(needed)} of memory to "
                        f"generate ({source}), more than the {_size(available)} available; "
                        f"use at most {most:,} (or a machine with more memory).")
