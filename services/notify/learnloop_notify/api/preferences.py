"""The caller's notification preferences."""

from __future__ import annotations

from fastapi import APIRouter
from learnloop_shared.http.security import CurrentPrincipal

from ..deps import Deps
from ..domain.preferences import Preferences, PreferencesIn

router = APIRouter(prefix="/v1", tags=["preferences"])


@router.get("/me/preferences", response_model=Preferences, response_model_by_alias=True)
async def get_preferences(me: CurrentPrincipal, deps: Deps) -> Preferences:
    return await deps.prefs.get(me.sub)


@router.put("/me/preferences", response_model=Preferences, response_model_by_alias=True)
async def put_preferences(body: PreferencesIn, me: CurrentPrincipal, deps: Deps) -> Preferences:
    return await deps.prefs.put(me.sub, body)
