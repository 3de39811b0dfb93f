"""A step process's own start and exit costs, which every step pays before and after its work,
its signals, and whether another process is still alive.

- **scipy.special first.** skops, on import, names the module of every numpy and scipy ufunc
  (they have no ``__module__``) by scanning ``sys.modules`` in import order until it finds it.
  After mlflow, pandas, scikit-learn and matplotlib that scan passes ~3,000 modules per ufunc:
  1.4-1.9 s of skops's import. With scipy.special imported first, the scan ends after a few
  dozen: 0.5 s (measured on this project's machine; the same modules imported either way).
- **No final collections at exit.** After the atexit handlers, CPython's finalisation runs
  full garbage collections over every live object (~540,000 in a step that trained a model,
  with mlflow's, SQLAlchemy's and pydantic's classes): 1.5-2 s between main's last line and
  its exit. Freezing them in the last atexit handler skips those passes; the handlers
  themselves (logging's flush, temporary directories, multiprocessing) have all run by then.
- **SIGTERM stops a step cleanly.** Its default action ends the process on the spot: the
  step's runs stayed RUNNING (until a later step in the experiment failed them) and, in main,
  tune beside train ran on until it noticed main was gone. Raised as
  :class:`pd_lib.errors.Terminated` instead, it unwinds like Ctrl-C: runs closed as FAILED,
  tune stopped and marked KILLED, one ``error:`` line, exit 143. A second SIGTERM ends the
  process at once, as before.
- **Ctrl-C is one line too.** KeyboardInterrupt unwinds the same way (the step's command
  turns it into :class:`pd_lib.errors.Interrupted`: exit 130). SQLAlchemy logs a full
  traceback when a cursor it was reading is closed under the interrupt; that logger is quieted
  once Ctrl-C has arrived, never before. Python cannot stop inside a clean-up callback (a
  thread pool's weak reference, run while MLflow closes the run): there a KeyboardInterrupt
  printed a traceback, was dropped and the step went on. Now one line says so, and the next
  Ctrl-C stops the step; a SIGTERM dropped there is delivered again. A Ctrl-C after the
  step's work and its last line (while the interpreter shuts down) is ignored.
- **Is that process still alive?** A pid and its start time name one process even after the
  pid is reused: the promote lock (an abandoned lock's holder) and tracking (a step run whose
  process is gone) ask the same question here.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import signal
import sys
import threading
from types import FrameType

from pd_lib.errors import Terminated


def import_scipy_special_first() -> None:
    """Import scipy.special now, before the libraries a step imports later (see above)."""
    import scipy.special  # noqa: F401


def skip_final_collections() -> None:
    """Freeze every live object after the atexit handlers registered later have run.

    Call it early: atexit handlers run last-registered first, so this one runs after those of
    every module imported after it."""
    atexit.register(gc.freeze)


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in this (main) thread, once; nothing when SIGTERM
    already has a handler of its own or this is not the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)
        _hear_dropped_stops()


def stop_cleanly_on_sigint() -> None:
    """Make Ctrl-C quiet SQLAlchemy's cursor-close errors, then raise KeyboardInterrupt as
    Python's own handler does, and say in one line when a clean-up callback dropped it;
    nothing outside the main thread or under a handler of its own. For a step's process."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        _hear_dropped_stops()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise KeyboardInterrupt


DROPPED_INTERRUPT = ("warning: Ctrl-C arrived inside a clean-up callback, where Python cannot "
                     "stop; the step goes on. Press Ctrl-C again to stop it.")


def _hear_dropped_stops() -> None:
    """Install :func:`_dropped_stops` as the unraisable hook, once."""
    if not getattr(sys.unraisablehook, "hears_dropped_stops", False):
        sys.unraisablehook = _dropped_stops(sys.unraisablehook)


def _dropped_stops(default_hook):
    """An unraisable hook for a stop that a clean-up callback dropped (Python cannot raise
    there; it printed a traceback and the step went on). A KeyboardInterrupt: one warning line,
    and the next Ctrl-C is handled as the first was. A SIGTERM's Terminated: delivered again
    from a timer thread, so the step stops where it can (main's cancel of tune sends one
    SIGTERM and waits; dropped, tune ran to the end and exited 0). Anything else goes to
    ``default_hook``."""

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            print(DROPPED_INTERRUPT, file=sys.stderr, flush=True)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        elif isinstance(unraisable.exc_value, Terminated):
            signal.signal(signal.SIGTERM, _raise_terminated)
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        else:
            default_hook(unraisable)

    hook.hears_dropped_stops = True
    return hook


def ignore_late_interrupts() -> None:
    """The work is done and said: a Ctrl-C from now on changes nothing, so it is ignored."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()


def process_start(pid: int) -> str:
    """The start time of a process in clock ticks since boot ("" if unknown): with the pid it
    names one process, even after the pid is reused."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 (one read)
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def process_alive(pid: int, started: str) -> bool:
    """Whether the process ``pid`` that started at ``started`` ("" if unknown) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or process_start(pid) in ("", started)
