"""``/xapi/activities/state``, ``/xapi/activities/profile``, ``/xapi/agents/profile``: the document resources.

GET (one document, or without its id the JSON list of ids, optionally ``since``), HEAD, PUT (store any content
type as bytes), POST (merge JSON objects), DELETE (State without ``stateId``: every matching document).
Writes answer 204; ETags, ``If-Match`` / ``If-None-Match`` (412), 409 for a blind overwrite where the spec
requires a precondition, 413 for a document over the size limit. Every bad parameter is 400.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from ...deps import Deps, LearnDeps
from ...domain.xapi.documents import (
    DocumentKey,
    Kind,
    activity_param,
    agent_param,
    check_parameters,
    http_date,
    id_param,
    registration_param,
    since_param,
)
from ...domain.xapi.scopes import XapiCaller
from .about import head_of
from .auth import Caller, require
from .route import XapiRoute, xapi_version

router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document (as stored, with its Content-Type, ETag and Last-Modified), or without the "
        "document's id the JSON array of ids",
        "content": {
            "application/json": {"schema": {}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_WRITE: dict[int | str, dict[str, Any]] = {204: {"description": "Done (a write answers the new ETag)"}}
_HEAD: dict[int | str, dict[str, Any]] = {200: {"description": "The headers a GET would answer with"}}

IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
ContentType = Annotated[str | None, Header(alias="Content-Type")]


def _read_action(kind: Kind) -> str:
    return "state/read" if kind == "state" else "profile/read"


def _write_action(kind: Kind) -> str:
    return "state/write" if kind == "state" else "profile/write"


async def _read(deps: LearnDeps, key: DocumentKey, since: datetime | None, head: bool) -> Response:
    if key.doc_id is None:
        ids = await deps.xapi.documents.ids(key, since)
        response: Response = JSONResponse(ids)
    else:
        doc = await deps.xapi.documents.get(key)
        response = Response(
            content=doc["content"],
            media_type=doc["content_type"],
            headers={"ETag": doc["etag"], "Last-Modified": http_date(doc["updated"])},
        )
    return head_of(response) if head else response


async def _write(
    request: Request,
    deps: LearnDeps,
    key: DocumentKey,
    *,
    merge: bool,
    content_type: str | None,
    if_match: str | None,
    if_none_match: str | None,
) -> Response:
    tag = await deps.xapi.documents.write(
        key,
        await request.body(),
        content_type,
        merge=merge,
        if_match=if_match,
        if_none_match=if_none_match,
        version=xapi_version(request),
    )
    return Response(status_code=204, headers={"ETag": tag})


# State --------------------------------------------------------------------------------------------------


def _state_key(
    request: Request,
    caller: XapiCaller,
    action: str,
    activityId: str | None,
    agent: str | None,
    registration: str | None,
    stateId: str | None,
    *,
    one: bool,
) -> DocumentKey:
    require(caller, action)
    check_parameters(request.query_params.keys(), "state", read=action.endswith("/read"))
    _, agent_key = agent_param(agent, xapi_version(request))
    return DocumentKey(
        "state",
        activity_param(activityId),
        agent_key,
        registration_param(registration),
        id_param(stateId, "stateId", required=one),
    )


@router.get("/activities/state", responses=_DOCUMENT, summary="Read a state document, or list state ids")
async def get_state(
    request: Request,
    deps: Deps,
    caller: Caller,
    activityId: str | None = None,
    agent: str | None = None,
    registration: str | None = None,
    stateId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _state_key(request, caller, "state/read", activityId, agent, registration, stateId, one=False)
    return await _read(deps, key, since_param(since), head=False)


@router.head("/activities/state", responses=_HEAD, summary="Headers of a state document or of the id list")
async def head_state(
    request: Request,
    deps: Deps,
    caller: Caller,
    activityId: str | None = None,
    agent: str | None = None,
    registration: str | None = None,
    stateId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _state_key(request, caller, "state/read", activityId, agent, registration, stateId, one=False)
    return await _read(deps, key, since_param(since), head=True)


@router.put(
    "/activities/state", status_code=204, responses=_WRITE, openapi_extra=_BODY, summary="Store a state document"
)
async def put_state(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    activityId: str | None = None,
    agent: str | None = None,
    registration: str | None = None,
    stateId: str | None = None,
) -> Response:
    key = _state_key(request, caller, "state/write", activityId, agent, registration, stateId, one=True)
    return await _write(
        request, deps, key, merge=False, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.post(
    "/activities/state", status_code=204, responses=_WRITE, openapi_extra=_BODY, summary="Merge into a state document"
)
async def post_state(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    activityId: str | None = None,
    agent: str | None = None,
    registration: str | None = None,
    stateId: str | None = None,
) -> Response:
    key = _state_key(request, caller, "state/write", activityId, agent, registration, stateId, one=True)
    return await _write(
        request, deps, key, merge=True, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.delete(
    "/activities/state", status_code=204, responses=_WRITE, summary="Delete a state document, or all that match"
)
async def delete_state(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    activityId: str | None = None,
    agent: str | None = None,
    registration: str | None = None,
    stateId: str | None = None,
) -> Response:
    key = _state_key(request, caller, "state/write", activityId, agent, registration, stateId, one=False)
    await deps.xapi.documents.delete(key, if_match=if_match, if_none_match=if_none_match)
    return Response(status_code=204)


# Activity Profile ---------------------------------------------------------------------------------------


def _activity_profile_key(
    request: Request, caller: XapiCaller, action: str, activityId: str | None, profileId: str | None, *, one: bool
) -> DocumentKey:
    require(caller, action)
    check_parameters(request.query_params.keys(), "activity_profile", read=action.endswith("/read"))
    return DocumentKey(
        "activity_profile", activity_param(activityId), None, None, id_param(profileId, "profileId", required=one)
    )


@router.get("/activities/profile", responses=_DOCUMENT, summary="Read an activity profile, or list profile ids")
async def get_activity_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    activityId: str | None = None,
    profileId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _activity_profile_key(request, caller, "profile/read", activityId, profileId, one=False)
    return await _read(deps, key, since_param(since), head=False)


@router.head("/activities/profile", responses=_HEAD, summary="Headers of an activity profile or of the id list")
async def head_activity_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    activityId: str | None = None,
    profileId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _activity_profile_key(request, caller, "profile/read", activityId, profileId, one=False)
    return await _read(deps, key, since_param(since), head=True)


@router.put(
    "/activities/profile", status_code=204, responses=_WRITE, openapi_extra=_BODY, summary="Store an activity profile"
)
async def put_activity_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    activityId: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _activity_profile_key(request, caller, "profile/write", activityId, profileId, one=True)
    return await _write(
        request, deps, key, merge=False, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.post(
    "/activities/profile",
    status_code=204,
    responses=_WRITE,
    openapi_extra=_BODY,
    summary="Merge into an activity profile",
)
async def post_activity_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    activityId: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _activity_profile_key(request, caller, "profile/write", activityId, profileId, one=True)
    return await _write(
        request, deps, key, merge=True, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.delete("/activities/profile", status_code=204, responses=_WRITE, summary="Delete an activity profile")
async def delete_activity_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    activityId: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _activity_profile_key(request, caller, "profile/write", activityId, profileId, one=True)
    await deps.xapi.documents.delete(key, if_match=if_match, if_none_match=if_none_match)
    return Response(status_code=204)


# Agent Profile ------------------------------------------------------------------------------------------


def _agent_profile_key(
    request: Request, caller: XapiCaller, action: str, agent: str | None, profileId: str | None, *, one: bool
) -> DocumentKey:
    require(caller, action)
    check_parameters(request.query_params.keys(), "agent_profile", read=action.endswith("/read"))
    _, agent_key = agent_param(agent, xapi_version(request))
    return DocumentKey("agent_profile", None, agent_key, None, id_param(profileId, "profileId", required=one))


@router.get("/agents/profile", responses=_DOCUMENT, summary="Read an agent profile, or list profile ids")
async def get_agent_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    agent: str | None = None,
    profileId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _agent_profile_key(request, caller, "profile/read", agent, profileId, one=False)
    return await _read(deps, key, since_param(since), head=False)


@router.head("/agents/profile", responses=_HEAD, summary="Headers of an agent profile or of the id list")
async def head_agent_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    agent: str | None = None,
    profileId: str | None = None,
    since: str | None = None,
) -> Response:
    key = _agent_profile_key(request, caller, "profile/read", agent, profileId, one=False)
    return await _read(deps, key, since_param(since), head=True)


@router.put("/agents/profile", status_code=204, responses=_WRITE, openapi_extra=_BODY, summary="Store an agent profile")
async def put_agent_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    agent: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _agent_profile_key(request, caller, "profile/write", agent, profileId, one=True)
    return await _write(
        request, deps, key, merge=False, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.post(
    "/agents/profile", status_code=204, responses=_WRITE, openapi_extra=_BODY, summary="Merge into an agent profile"
)
async def post_agent_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    content_type: ContentType = None,
    agent: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _agent_profile_key(request, caller, "profile/write", agent, profileId, one=True)
    return await _write(
        request, deps, key, merge=True, content_type=content_type, if_match=if_match, if_none_match=if_none_match
    )


@router.delete("/agents/profile", status_code=204, responses=_WRITE, summary="Delete an agent profile")
async def delete_agent_profile(
    request: Request,
    deps: Deps,
    caller: Caller,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    agent: str | None = None,
    profileId: str | None = None,
) -> Response:
    key = _agent_profile_key(request, caller, "profile/write", agent, profileId, one=True)
    await deps.xapi.documents.delete(key, if_match=if_match, if_none_match=if_none_match)
    return Response(status_code=204)
