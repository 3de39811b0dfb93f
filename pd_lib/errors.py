"""The user-facing error type, and how a step turns it into one clear line."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

USER_ERROR_EXIT_CODE = 2
TERMINATED_EXIT_CODE = 128 + 15  # what a shell reports for a process that SIGTERM ended
INTERRUPTED_EXIT_CODE = 128 + 2  # ... and for one that Ctrl-C (SIGINT) ended


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# user:password@ inside any URI (postgresql://, http://, ...): everything between the user's
# colon and the last @ before the host is masked, so a password holding '/', ':' or '@' (not
# URL-encoded, as users write them) does not leak its tail.
_URI_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)\S+@(?=[^\s@/]*(?:[/:?#\s]|$))")
# password=..., token=... in a query string or an option: the value is masked.
_SECRET_PARAMETER = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)=)[^&\s]+",
    re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URI and the value
    of every ``password=``-like parameter as ***."""
    text = _URI_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)
    return _SECRET_PARAMETER.sub(lambda m: f"{m.group('head')}***", text)


class PipelineError(Exception):
    """A problem the user can fix: bad input, unknown run or model, refused promotion.

    The message is shown as is, one ``error:`` line per line of it, with no traceback.
    """


class Terminated(BaseException):
    """SIGTERM arrived (a pod deleted, a CI time-out, ``kill``): see
    :func:`pd_lib.process.stop_cleanly_on_sigterm`. A BaseException, as KeyboardInterrupt is,
    so no ``except Exception`` and none of click's handlers stop it on its way out: every run
    context it passes closes its run as FAILED, and main stops the step running beside it."""


class Interrupted(Terminated):
    """Ctrl-C (SIGINT, KeyboardInterrupt) arrived while a step worked: unwound as a SIGTERM
    is (runs closed as FAILED, locks released), then one ``error:`` line and exit 130."""


def exit_on_user_error(func: F) -> F:
    """Run ``func``; on :class:`PipelineError` print ``error: <message>`` and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PipelineError as exc:
            for line in mask_secrets(str(exc)).splitlines() or ["unknown error"]:
                print(f"error: {line}", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT_CODE)

    return wrapper  # type: ignore[return-value]
