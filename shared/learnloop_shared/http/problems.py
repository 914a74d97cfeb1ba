"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..auth import AuthError
from .guard import PROBLEM_JSON, BodyTooLarge, ProblemGuard

log = logging.getLogger(__name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "What was invalid (422)"},
    },
}
# Declared on every operation (``FastAPI(responses=...)``) so the OpenAPI document says what errors look like.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "Problem details (RFC 9457)", "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}},
    "5XX": {"description": "Problem details (RFC 9457)", "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}},
}


class Problem(Exception):
    """Raise from anywhere in a request to answer with a problem document (``headers``: response headers
    such as ``Retry-After``; ``extra``: more members of the document)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = extra


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


def forbidden(detail: str) -> Problem:
    return Problem(403, detail)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI, max_body_bytes: int) -> None:
    """Problem documents for every error, and :class:`ProblemGuard` for bodies and unexpected exceptions.

    Call before adding other middleware: CORS added later wraps the guard, so browsers can read its
    413 and 500 answers too.
    """
    app.add_middleware(ProblemGuard, max_body_bytes=max_body_bytes)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, exc.title, headers=exc.headers, **exc.extra)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        return problem_response(request, 401, str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(request, 422, "the request is invalid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return problem_response(request, 413, str(exc.detail), max_bytes=exc.limit)
        return problem_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    # Unexpected exceptions are answered by ``guard.ProblemGuard`` (a 500 that keeps the connection usable).
