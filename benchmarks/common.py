"""Shared helpers of the benchmarks: timing, peak memory of a process tree, data, formatting."""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
MIB = 1024 * 1024


@dataclass
class Measured:
    """A finished command: wall seconds, peak RSS (largest process and sampled tree sum)."""

    wall: float
    peak_process_mib: float
    peak_tree_mib: float
    returncode: int
    stdout: str = ""
    stderr: str = ""
    extra: dict = field(default_factory=dict)
    cpu: float = 0.0  # user + system seconds of the command and its waited-for descendants
    leftover: list[int] = field(default_factory=list)  # its process group's pids after it ended


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _tree_rss_bytes(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        stack.extend(_children(current))
    return total


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path = ROOT,
                 timeout: float = 3600) -> Measured:
    """Run ``cmd``; wall time, peak RSS of its largest process (wait4) and of the tree (/proc)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group: see leftover
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_bytes(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks: dict[str, str] = {}

    def drain(name: str, stream) -> None:
        out_chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C: the command runs in a session of its own, stop it too
        os.killpg(proc.pid, signal.SIGTERM)
        raise
    wall = time.perf_counter() - started
    leftover = process_group_members(proc.pid)
    done.set()
    for reader in readers:
        reader.join(timeout)
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss of wait4 is the largest of the child and its waited-for descendants, in KiB.
    return Measured(wall, usage.ru_maxrss / 1024, peak[0] / MIB, proc.returncode,
                    out_chunks.get("out", ""), out_chunks.get("err", ""),
                    cpu=usage.ru_utime + usage.ru_stime, leftover=leftover)


def process_group_members(pgid: int) -> list[int]:
    """Pids of the live processes (not zombies) in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def result_line(stdout: str) -> dict:
    """The JSON of the last ``RESULT {...}`` line a benchmark script printed."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError("no RESULT line in output:\n" + stdout[-2000:])


def peak_rss_mib() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_info() -> dict:
    """Cores, memory, load, Python and library versions, date."""
    import importlib.metadata as md

    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops", "pyarrow",
                 "threadpoolctl", "matplotlib"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "load_average_at_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "versions": versions,
    }


def dir_size_mib(path: Path) -> float:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / MIB


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A GitHub markdown table."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 1 else f"{value:,.1f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
