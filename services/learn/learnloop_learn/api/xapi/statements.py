"""``/xapi/statements``. SKELETON: POST, PUT and GET by id; the rest of the resource is built on it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...deps import Deps
from ...domain.xapi.errors import XapiError
from ...domain.xapi.validation import validate_uuid
from .auth import Caller, require
from .route import XapiRoute, xapi_version

router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise XapiError("the body is not JSON") from None


@router.post("/statements", summary="Store statements (one or a list)")
async def post_statements(request: Request, deps: Deps, caller: Caller) -> JSONResponse:
    require(caller, "statements/write")
    ids = await deps.xapi.intake.store(await _json_body(request), caller, xapi_version(request))
    return JSONResponse(ids)


@router.put("/statements", status_code=204, summary="Store one statement under statementId")
async def put_statement(request: Request, deps: Deps, caller: Caller, statementId: str) -> Response:
    require(caller, "statements/write")
    body = await _json_body(request)
    statement_id = validate_uuid(statementId, "statementId").lower()
    if not isinstance(body, dict):
        raise XapiError("PUT takes one statement")
    if "id" in body and str(body["id"]).lower() != statement_id:
        raise XapiError("the statement's id differs from statementId")
    body["id"] = statement_id
    await deps.xapi.intake.store(body, caller, xapi_version(request))
    return Response(status_code=204)


@router.get("/statements", summary="Read statements")
async def get_statements(deps: Deps, caller: Caller, statementId: str | None = None) -> JSONResponse:
    require(caller, "statements/read", "statements/read/mine")
    if statementId is None:
        raise XapiError("SKELETON: only statementId is supported so far", status=400)
    doc = await deps.xapi.statements.get(validate_uuid(statementId, "statementId").lower())
    if doc is None or doc["voided"]:
        raise XapiError("no such statement", status=404)
    return JSONResponse(doc["statement"])
