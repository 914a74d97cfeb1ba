"""``/xapi/statements`` (xAPI Communication 2.1): PUT, POST, GET and HEAD.

- Bodies are ``application/json`` or ``multipart/mixed`` (statements first, then one part per attachment);
  any other Content-Type is 400.
- GET takes the parameters of ``domain.xapi.query`` (unknown or repeated ones are 400); with
  ``attachments=true`` the answer is ``multipart/mixed`` (the JSON first, then each attachment once).
- Every GET/HEAD answer carries ``X-Experience-API-Consistent-Through`` (``usecases.xapi.reading``) and,
  when it holds statements, ``Last-Modified`` (the newest ``stored`` among them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ...deps import Deps
from ...domain.xapi.errors import XapiError
from ...domain.xapi.formats import parse_accept_language
from ...domain.xapi.multipart import Part, build, media_type, parse
from ...domain.xapi.query import parse_query
from ...domain.xapi.statements import iso
from ...domain.xapi.validation import validate_uuid
from ...usecases.xapi.reading import ReadResult, consistent_through
from .alternate import AlternateRoute
from .auth import Caller, require
from .route import XapiRoute, xapi_version

router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)

CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
_JSON_TYPES = ("application/json",)
_MULTIPART = "multipart/mixed"
_BODY = {
    "content": {
        "application/json": {"schema": {"description": "A Statement, or an array of Statements"}},
        _MULTIPART: {"schema": {"type": "string", "format": "binary"}},
    },
}
# Documented only (``XapiRoute`` negotiates it): clients, and the fuzzer, learn that every call needs it.
_VERSION_HEADER = {
    "in": "header",
    "name": "X-Experience-API-Version",
    "required": True,
    "schema": {"type": "string", "enum": ["1.0.3", "2.0.0"]},
}
_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Statement (statementId, voidedStatementId) or a StatementResult {statements, more}",
        "content": {"application/json": {"schema": {"type": "object"}}, _MULTIPART: {}},
    }
}


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise XapiError("the body is not JSON") from None
    except RecursionError:
        raise XapiError("the body nests JSON too deeply") from None


async def _statements_body(request: Request) -> tuple[Any, list[Part]]:
    """The statements of a request body and its attachment parts (module docstring)."""
    ctype = request.headers.get("content-type")
    kind = media_type(ctype)
    raw = await request.body()
    if kind in _JSON_TYPES:
        return _loads(raw), []
    if kind == _MULTIPART:
        parts = parse(raw, ctype or "")
        if parts[0].content_type not in _JSON_TYPES:
            raise XapiError("the first part of a multipart/mixed body must be the statements as application/json")
        return _loads(parts[0].body), parts[1:]
    raise XapiError("Content-Type must be application/json or multipart/mixed")


def _no_params(request: Request, *allowed: str) -> None:
    extra = sorted(set(request.query_params.keys()) - set(allowed))
    if extra:
        raise XapiError(f"unknown parameter {extra[0]!r}")


async def post_statements(request: Request, deps: Deps, caller: Caller) -> Response:
    """200 with the ids; 204 when every statement was stored before, the same (nothing changed: the ADL suite
    accepts only 204 or 409 for a statement POSTed again after a PUT)."""
    require(caller, "statements/write")
    _no_params(request)
    body, parts = await _statements_body(request)
    ids, new = await deps.xapi.intake.store_counting(body, caller, xapi_version(request), parts)
    if new == 0:
        return Response(status_code=204)
    return JSONResponse(ids)


# POST also carries 1.0.3's alternate request syntax (``?method=``, ``api.xapi.alternate``).
router.add_api_route(
    "/statements",
    post_statements,
    methods=["POST"],
    summary="Store statements (one or a list), with attachments as multipart/mixed",
    openapi_extra={"requestBody": _BODY, "parameters": [_VERSION_HEADER]},
    responses={
        200: {"description": "The ids of the statements, in order", "content": {"application/json": {}}},
        204: {"description": "Every statement was stored before, the same: nothing changed"},
    },
    route_class_override=AlternateRoute,
)


@router.put(
    "/statements",
    status_code=204,
    summary="Store one statement under statementId (204; 409 when a different one has the id)",
    openapi_extra={"requestBody": _BODY, "parameters": [_VERSION_HEADER]},
)
async def put_statement(request: Request, deps: Deps, caller: Caller, statementId: str) -> Response:
    require(caller, "statements/write")
    _no_params(request, "statementId")
    statement_id = validate_uuid(statementId, "statementId").lower()
    body, parts = await _statements_body(request)
    if not isinstance(body, dict):
        raise XapiError("PUT takes one statement")
    if "id" in body and str(body["id"]).lower() != statement_id:
        raise XapiError("the statement's id differs from statementId")
    body["id"] = statement_id
    await deps.xapi.intake.store(body, caller, xapi_version(request), parts)
    return Response(status_code=204)


async def _read(request: Request, deps: Deps, caller: Caller) -> ReadResult:
    require(caller, "statements/read", "statements/read/mine")
    q = parse_query(request.query_params.multi_items(), xapi_version(request))
    languages = parse_accept_language(request.headers.get("accept-language"))
    return await deps.xapi.reader.read(q, caller, path=request.url.path, languages=languages)


def _headers(result: ReadResult) -> dict[str, str]:
    headers = {CONSISTENT_THROUGH: iso(result.consistent_through)}
    if result.last_modified is not None:
        headers["Last-Modified"] = format_datetime(result.last_modified.astimezone(UTC), usegmt=True)
    return headers


class ReadRoute(XapiRoute):
    """GET/HEAD: ``X-Experience-API-Consistent-Through`` on every answer, refusals included (the spec asks
    for it "regardless of the code returned")."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_handler(request: Request) -> Response:
            response = await handler(request)
            if CONSISTENT_THROUGH not in response.headers:
                response.headers[CONSISTENT_THROUGH] = iso(consistent_through())
            return response

        return read_handler


# The parameters as documented (OpenAPI); they are parsed and checked by ``domain.xapi.query``.
Param = Annotated[str | None, Query()]


async def get_statements(
    request: Request,
    deps: Deps,
    caller: Caller,
    statementId: Param = None,
    voidedStatementId: Param = None,
    agent: Param = None,
    verb: Param = None,
    activity: Param = None,
    registration: Param = None,
    related_activities: Param = None,
    related_agents: Param = None,
    since: Param = None,
    until: Param = None,
    limit: Param = None,
    format: Param = None,
    attachments: Param = None,
    ascending: Param = None,
    cursor: Param = None,
) -> Response:
    result = await _read(request, deps, caller)
    headers = _headers(result)
    if attachments == "true":
        first = Part({"Content-Type": "application/json"}, json.dumps(result.body).encode())
        content, ctype = build([first, *result.attachments])
        return Response(content, media_type=ctype, headers=headers)
    return JSONResponse(result.body, headers=headers)


async def head_statements(request: Request, deps: Deps, caller: Caller) -> Response:
    result = await _read(request, deps, caller)
    media = _MULTIPART if request.query_params.get("attachments") == "true" else "application/json"
    return Response(status_code=200, media_type=media, headers=_headers(result))


router.add_api_route(
    "/statements",
    get_statements,
    methods=["GET"],
    summary="Read statements: one by id, or a filtered page",
    responses=_READ_RESPONSES,
    openapi_extra={"parameters": [_VERSION_HEADER]},
    route_class_override=ReadRoute,
)
router.add_api_route(
    "/statements",
    head_statements,
    methods=["HEAD"],
    summary="The headers of the same GET",
    include_in_schema=False,
    route_class_override=ReadRoute,
)
