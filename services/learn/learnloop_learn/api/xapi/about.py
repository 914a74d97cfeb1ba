"""``/xapi/activities`` (the canonical Activity), ``/xapi/agents`` (the Person) and ``/xapi/about``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...deps import Deps
from ...domain.xapi.documents import activity_param, agent_param, only_parameters
from ...domain.xapi.versions import LATEST
from .auth import Caller, require
from .route import XapiAboutRoute, XapiRoute, xapi_version

router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiRoute)
about_router = APIRouter(prefix="/xapi", tags=["xapi"], route_class=XapiAboutRoute)

VERSIONS = ["1.0.3", LATEST]
# Reading what the LRS knows of Activities and Agents: a statement reader's or a profile reader's right.
READ_ACTIONS = ("statements/read", "profile/read")

_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}


@router.get("/activities", responses={200: {"description": "The Activity", **_JSON}}, summary="An Activity")
async def get_activity(request: Request, deps: Deps, caller: Caller, activityId: str | None = None) -> JSONResponse:
    """The Activity with the definition the LRS keeps for it (from statements of callers allowed to
    ``define``), or just its id when it knows none."""
    require(caller, *READ_ACTIONS)
    only_parameters(request.query_params.keys(), ["activityId"])
    return JSONResponse(await deps.xapi.activities.activity(activity_param(activityId)))


@router.get("/agents", responses={200: {"description": "The Person", **_JSON}}, summary="The Person of an Agent")
async def get_agents(request: Request, deps: Deps, caller: Caller, agent: str | None = None) -> JSONResponse:
    """A Person object: every name and identifier the LRS has seen for this Agent (at least its own)."""
    require(caller, *READ_ACTIONS)
    only_parameters(request.query_params.keys(), ["agent"])
    obj, key = agent_param(agent, xapi_version(request))
    return JSONResponse(await deps.xapi.activities.person(obj, key))


@about_router.get(
    "/about",
    responses={200: {"description": "The xAPI versions the LRS speaks", **_JSON}},
    summary="About the LRS (no authentication, no version header)",
)
async def about() -> JSONResponse:
    body: dict[str, Any] = {"version": VERSIONS, "extensions": {}}
    return JSONResponse(body)
