"""The outermost guard of every service's HTTP stack: no request ends without a response.

Starlette's ``ServerErrorMiddleware`` sends its 500 and then re-raises the exception, and uvicorn
answers a raised exception by closing the connection — so a keep-alive client's *next* request on
that connection failed too. :class:`ProblemGuard` sits inside it, turns any unexpected exception
into a logged ``application/problem+json`` 500 and returns normally, so the connection stays usable.

It also caps request bodies: a declared ``Content-Length`` over the limit is answered 413 before
anything reads the body; a body without a length (chunked) is counted as it is read, and the read that
crosses the limit raises :class:`BodyTooLarge` — an ``HTTPException``, which FastAPI passes on from
body parsing to the problem handlers (413). (FastAPI's own ``max_body_size`` is not used: it answers
a declared oversize body in plain text, replacing any problem document.)
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))
        self.limit = limit


def _problem_body(status: int, detail: str, instance: str, **extra: Any) -> bytes:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    body["instance"] = instance
    body.update(extra)
    return json.dumps(body).encode()


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed length itself
    return None


class ProblemGuard:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._send_problem(send, scope, 413, too_large_detail(self.max_body_bytes), self.max_body_bytes)
            return

        started = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception as exc:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            span = trace.get_current_span()
            if span.is_recording():
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            if not started:  # otherwise the response is cut short; nothing more can be said on it
                await self._send_problem(send, scope, 500, "internal error")

    @staticmethod
    async def _send_problem(send: Send, scope: Scope, status: int, detail: str, limit: int | None = None) -> None:
        extra = {} if limit is None else {"max_bytes": limit}
        body = _problem_body(status, detail, scope.get("path", ""), **extra)
        # No "Connection: close" on a 413: closing with the body still arriving makes the client's TCP
        # stack drop our response (reset). uvicorn discards the rest of the body unparsed and keeps the
        # connection; a client that sent "Expect: 100-continue" never sends the body at all.
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
