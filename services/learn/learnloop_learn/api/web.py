"""The author's dashboard page: static HTML/JS/CSS in which a signed-in author follows their shares live.

The page holds no data and needs no token to load; it calls learn's API (same origin, so the strict CSP
below allows nothing else) with the bearer token the author pasted, kept in the browser's local storage,
as notify's inbox page does.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from learnloop_shared.http.problems import not_found

router = APIRouter(tags=["dashboard page"], include_in_schema=False)

ASSETS: Final = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@cache
def asset(name: str) -> str:
    return resources.files("learnloop_learn").joinpath("web", name).read_text(encoding="utf-8")


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page() -> HTMLResponse:
    return HTMLResponse(asset("dashboard.html"), headers=dict(SECURITY_HEADERS))


@router.get("/dashboard/{name}")
async def dashboard_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise not_found("file")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(asset(name), media_type=media_type, headers=headers)
