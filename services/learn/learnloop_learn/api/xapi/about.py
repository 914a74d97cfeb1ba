"""``/xapi/activities`` (the canonical Activity), ``/xapi/agents`` (the Person) and ``/xapi/about``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...deps import Deps, LearnDeps
from ...domain.xapi.documents import activity_param, agent_param, only_parameters
from ...domain.xapi.scopes import XapiCaller
from ...domain.xapi.versions import HEADER, LATEST, V103
from .auth import Caller, require
from .route import XapiAboutRoute, XapiRoute, xapi_version

router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)
about_router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiAboutRoute)

# Every 1.0.x is answered as 1.0.3 (``versions.negotiate``: patch versions are compatible), so the LRS
# speaks each of them. A 1.0.x client is told only of 1.0.x: the 1.0.3 spec allows no other value there.
VERSIONS_1 = ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
VERSIONS = [*VERSIONS_1, LATEST]
# Reading what the LRS knows of Activities and Agents: a statement reader's or a profile reader's right.
READ_ACTIONS = ("statements/read", "profile/read")

_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}
_HEAD: dict[int | str, dict[str, Any]] = {200: {"description": "The headers a GET would answer with"}}


def head_of(response: Response) -> Response:
    """What a HEAD answers: the GET's status and headers, no body."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(status_code=response.status_code, headers=headers)


async def _activity(request: Request, deps: LearnDeps, caller: XapiCaller, activity_id: str | None) -> JSONResponse:
    require(caller, *READ_ACTIONS)
    only_parameters(request.query_params.keys(), ["activityId"])
    return JSONResponse(await deps.xapi.activities.activity(activity_param(activity_id)))


async def _person(request: Request, deps: LearnDeps, caller: XapiCaller, agent: str | None) -> JSONResponse:
    require(caller, *READ_ACTIONS)
    only_parameters(request.query_params.keys(), ["agent"])
    obj, key = agent_param(agent, xapi_version(request))
    return JSONResponse(await deps.xapi.activities.person(obj, key))


def _about(request: Request) -> JSONResponse:
    """The versions the LRS speaks: to a request that says it speaks 1.0.x, the 1.0.x ones."""
    one_oh = request.headers.get(HEADER) is not None and xapi_version(request) == V103
    body: dict[str, Any] = {"version": VERSIONS_1 if one_oh else VERSIONS, "extensions": {}}
    return JSONResponse(body)


@router.get("/activities", responses={200: {"description": "The Activity", **_JSON}}, summary="An Activity")
async def get_activity(request: Request, deps: Deps, caller: Caller, activityId: str | None = None) -> JSONResponse:
    """The Activity with the definition the LRS keeps for it (from statements of callers allowed to
    ``define``), or just its id when it knows none."""
    return await _activity(request, deps, caller, activityId)


@router.head("/activities", responses=_HEAD, summary="Headers of an Activity")
async def head_activity(request: Request, deps: Deps, caller: Caller, activityId: str | None = None) -> Response:
    return head_of(await _activity(request, deps, caller, activityId))


@router.get("/agents", responses={200: {"description": "The Person", **_JSON}}, summary="The Person of an Agent")
async def get_agents(request: Request, deps: Deps, caller: Caller, agent: str | None = None) -> JSONResponse:
    """A Person object: every name and identifier the LRS has seen for this Agent (at least its own)."""
    return await _person(request, deps, caller, agent)


@router.head("/agents", responses=_HEAD, summary="Headers of the Person of an Agent")
async def head_agents(request: Request, deps: Deps, caller: Caller, agent: str | None = None) -> Response:
    return head_of(await _person(request, deps, caller, agent))


@about_router.get(
    "/about",
    responses={200: {"description": "The xAPI versions the LRS speaks", **_JSON}},
    summary="About the LRS (no authentication, no version header)",
)
async def about(request: Request) -> JSONResponse:
    return _about(request)


@about_router.head("/about", responses=_HEAD, summary="Headers of /xapi/about")
async def head_about(request: Request) -> Response:
    return head_of(_about(request))
