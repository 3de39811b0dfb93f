"""The REST server of a PD model: MLflow's own scoring app (the same ``/invocations`` API and
answers as ``mlflow models serve``), loaded by us and behind a guard for the requests MLflow
answers badly (issue 29):

- a model that does not load is one ``error:`` line and exit 2 before any port is opened
  (``mlflow models serve`` printed two tracebacks);
- JSON nested deeper than Python's parser goes (``[[[[...`` 100,000 deep) is a short 400
  (MLflow's ``json.loads`` overflowed into ``500 Internal Server Error``);
- an empty ``text/csv`` body is a short 400 (MLflow's answer carried its parser traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pd_lib.mlflow_layer.mlflow_internals import scoring_app
from pd_lib.mlflow_layer.scoring_model import as_scoring_model, load_scoring_model

log = logging.getLogger("pd_pipeline")

# Fewer brackets than this cannot nest deep enough to overflow json.loads (its recursion
# limit is about 1,000): such bodies are passed on unparsed.
DEEP_ENOUGH_TO_CHECK = 900

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def request_refusal(body: bytes, content_type: str) -> str | None:
    """Why MLflow's app must not see this ``/invocations`` body, or None to pass it on."""
    if content_type.startswith("text/csv"):
        if not body.strip():
            return ("the CSV body is empty: send a header line with the model's columns and "
                    "one line per loan.")
        return None
    if body.count(b"[") + body.count(b"{") < DEEP_ENOUGH_TO_CHECK:
        return None
    try:
        json.loads(body)
    except RecursionError:
        return ("the JSON is nested too deeply to parse: send {\"dataframe_split\": {\"columns\": "
                "[...], \"data\": [[...]]}} or {\"dataframe_records\": [{...}]}.")
    except ValueError:
        return None  # MLflow's app answers malformed JSON with a short 400 of its own
    return None


class RequestGuard:
    """ASGI middleware: reads an ``/invocations`` body, answers :func:`request_refusal`'s
    reason as a 400 JSON body (MLflow's error shape), else replays the body to ``app``."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)
        refusal = request_refusal(body, _content_type(scope))
        if refusal is None:
            await self.app(scope, _replaying(body, receive), send)
            return
        answer = json.dumps({"error_code": "BAD_REQUEST", "message": refusal}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` once, then waits on the client as ``receive`` does."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            return value.decode("latin-1").lower()
    return ""


def guarded_app(model_uri: str) -> tuple[RequestGuard, str]:
    """The guarded scoring app of ``model_uri`` and the version it pinned; a model that does
    not resolve or load is a PipelineError (one line), before anything listens."""
    resolved = as_scoring_model(model_uri)
    model = load_scoring_model(resolved)
    return RequestGuard(scoring_app(model)), resolved.uri


def serve(model_uri: str, host: str, port: int) -> None:
    """Serve ``model_uri`` on ``host:port`` until Ctrl-C or SIGTERM."""
    import uvicorn

    app, pinned = guarded_app(model_uri)
    log.info("serving %s on http://%s:%d (POST /invocations; GET /ping)", pinned, host, port)
    uvicorn.run(app, host=host, port=port, log_level="info")
