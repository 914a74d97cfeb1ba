"""FastAPI dependency that authenticates the caller from ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..auth import AuthError, Principal, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="JWT; `sub` is the user id, `scope` space-separated")


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise AuthError("missing bearer token")
    verifier: TokenVerifier = request.app.state.runtime.verifier
    return await verifier.verify(creds.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def service_deps(request: Request) -> object:
    """The service's own dependencies, built once in the lifespan (see ``runtime.ServiceDefinition``).

    ``async`` although it does not wait for anything: FastAPI runs a plain function dependency in its
    thread pool, a thread hop on every request."""
    return request.app.state.runtime.deps
