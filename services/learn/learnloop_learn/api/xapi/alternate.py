"""xAPI 1.0.3's Alternate Request Syntax (Communication 1.3): ``POST <resource>?method=GET|PUT|POST|DELETE|HEAD``
with an ``application/x-www-form-urlencoded`` body.

The form's ``Authorization``, ``X-Experience-API-Version``, ``If-Match`` and ``If-None-Match`` act as headers
(a real header of the same name wins); ``Content-Type`` (default ``application/json``) and ``content`` become
the request body; every other form field becomes a query parameter. The rewritten request is handed to the
app again, so it meets exactly the route, authentication and checks a direct request would.

400: any query parameter besides ``method``, a body that is not form-encoded, an unknown ``method``, or a
request that speaks xAPI 2.0 (which dropped this syntax).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from learnloop_shared.http.problems import problem_response
from starlette.types import Message, Receive, Scope, Send

from ...domain.xapi.errors import XapiError
from ...domain.xapi.versions import HEADER, LATEST, V103, negotiate
from .route import XapiRoute

METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
_AS_HEADERS = frozenset({"authorization", "x-experience-api-version", "if-match", "if-none-match"})
_BODY_HEADERS = frozenset({"content-type", "content-length"})
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 100


class _Redispatch(Response):
    """A response that answers by running the app on the rewritten request."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        super().__init__()
        self._scope = scope
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}

        await self._scope["app"](self._scope, replay, send)


async def _rewrite(request: Request) -> tuple[Scope, bytes]:
    method = request.query_params.get("method", "").upper()
    if method not in METHODS:
        raise XapiError(f"method must be one of {', '.join(sorted(METHODS))}")
    if set(request.query_params.keys()) != {"method"}:
        raise XapiError("with the alternate request syntax every parameter goes in the form body")
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != _FORM:
        raise XapiError(f"the alternate request syntax needs a {_FORM} body")
    raw = await request.body()
    try:
        fields = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=_MAX_FIELDS)
    except (ValueError, UnicodeDecodeError):
        raise XapiError(f"the body is not {_FORM}") from None
    headers = {k.decode("latin-1").lower(): v for k, v in request.scope["headers"]}
    headers.pop("content-length", None)
    headers["content-type"] = b"application/json"
    params: list[tuple[str, str]] = []
    content = b""
    for name, value in fields:
        low = name.lower()
        if low in _AS_HEADERS:
            headers.setdefault(low, value.encode("latin-1", "replace"))
        elif low == "content-type":
            headers["content-type"] = value.encode("latin-1", "replace")
        elif low == "content":
            content = value.encode()
        elif low == "method":  # would be rewritten again, and again
            raise XapiError("method belongs in the query string, once")
        elif low not in _BODY_HEADERS:
            params.append((name, value))
    version = headers.get("x-experience-api-version")
    if version is not None and negotiate(version.decode("latin-1")) != V103:
        raise XapiError("xAPI 2.0 has no alternate request syntax")
    headers["content-length"] = str(len(content)).encode()
    scope = {k: v for k, v in request.scope.items() if k not in ("endpoint", "route", "path_params", "router")}
    scope.update(
        method=method,
        query_string=urlencode(params).encode(),
        headers=[(k.encode("latin-1"), v) for k, v in headers.items()],
    )
    return scope, content


class AlternateRoute(XapiRoute):
    """The route class of ``POST`` on a resource: requests with ``?method=`` use the alternate syntax."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def alternate_handler(request: Request) -> Response:
            if "method" not in request.query_params:
                return await handler(request)
            try:
                scope, body = await _rewrite(request)
            except XapiError as exc:
                response = problem_response(request, exc.status, str(exc))
                response.headers[HEADER] = request.headers.get(HEADER, LATEST)
                return response
            return _Redispatch(scope, body)

        return alternate_handler
