"""A step process's own start and exit costs, which every step pays before and after its work.

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
"""

from __future__ import annotations

import atexit
import gc
import signal
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


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()
