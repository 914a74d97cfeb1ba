"""Authenticating LRS clients: HTTP Basic with an LRS credential, or a Bearer JWT (``xapi:read``/``xapi:write``)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from learnloop_shared.auth import AuthError
from learnloop_shared.http.problems import Problem

from ...deps import Deps
from ...domain.xapi.agents import ifi_key
from ...domain.xapi.scopes import BEARER_SCOPES, XapiCaller

CREDENTIALS_PATH = "/xapi/credentials"


def _basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed Basic credentials") from None
    key, sep, secret = decoded.partition(":")
    if not sep:
        raise AuthError("malformed Basic credentials")
    return key, secret


async def xapi_caller(request: Request, deps: Deps) -> XapiCaller:
    """The authenticated caller, or 401. Which actions it may take is checked by :func:`require`."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic" and value:
        key, secret = _basic(value)
        cred = await deps.xapi.credentials.verify(key, secret)
        if cred is None:
            raise AuthError("unknown LRS credentials")
        authority = {
            "objectType": "Agent",
            "name": cred["name"],
            "account": {"homePage": f"{deps.xapi.public_url}{CREDENTIALS_PATH}", "name": key},
        }
        return XapiCaller(authority, ifi_key(authority) or "", frozenset(cred["scopes"]), credential=key)
    if scheme == "bearer" and value:
        principal = await request.app.state.runtime.verifier.verify(value)
        scopes: frozenset[str] = frozenset()
        for scope, grants in BEARER_SCOPES.items():
            if principal.has(scope):
                scopes |= grants
        authority = {"objectType": "Agent", "account": {"homePage": deps.xapi.home_page, "name": principal.sub}}
        return XapiCaller(authority, ifi_key(authority) or "", scopes, user_id=principal.sub)
    raise AuthError("HTTP Basic (an LRS credential) or a Bearer token is required")


Caller = Annotated[XapiCaller, Depends(xapi_caller)]


def require(caller: XapiCaller, *actions: str) -> None:
    """403 unless the caller may take one of ``actions`` (``domain.xapi.scopes``)."""
    if not any(caller.may(a) for a in actions):
        raise Problem(403, f"the credentials lack the scope for {' or '.join(actions)}")
