"""The inbox page: a static HTML/JS page where a signed-in user sees their inbox live and acknowledges shares.

The page itself needs no token (it holds no data); it calls notify's API (same origin) and learn's API
(cross-origin, allowed by ``LEARNLOOP_CORS_ORIGINS`` on learn) with the bearer token the user pasted.
learn's and share's URLs come from ``NotifySettings`` and are rendered into the page as inline JSON.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from learnloop_shared.http.problems import not_found

from ..config import NotifySettings

router = APIRouter(tags=["inbox page"], include_in_schema=False)

ASSETS: Final = {"inbox.js": "text/javascript; charset=utf-8", "inbox.css": "text/css; charset=utf-8"}
CONFIG_MARKER: Final = "{{CONFIG_JSON}}"


@cache
def asset(name: str) -> str:
    return resources.files("learnloop_notify").joinpath("web", name).read_text(encoding="utf-8")


def config_json(settings: NotifySettings) -> str:
    """The page's configuration as JSON that is safe inside a ``<script type="application/json">`` block."""
    cfg = {"learnUrl": settings.learn_public_url.rstrip("/"), "shareUrl": settings.share_public_url.rstrip("/")}
    raw = json.dumps(cfg, ensure_ascii=True)
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def security_headers(settings: NotifySettings) -> dict[str, str]:
    connect = " ".join(["'self'", settings.learn_public_url.rstrip("/"), settings.share_public_url.rstrip("/")])
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }


@router.get("/", response_class=RedirectResponse, status_code=307)
async def root() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=307)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request) -> HTMLResponse:
    settings: NotifySettings = request.app.state.runtime.settings
    html = asset("inbox.html").replace(CONFIG_MARKER, config_json(settings))
    return HTMLResponse(html, headers=security_headers(settings))


@router.get("/inbox/{name}")
async def inbox_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise not_found("file")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(asset(name), media_type=media_type, headers=headers)
