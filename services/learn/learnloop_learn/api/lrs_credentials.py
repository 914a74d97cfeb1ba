"""``/v1/lrs/credentials``: LRS credentials (HTTP Basic on ``/xapi/``), managed by holders of ``lrs:admin``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from learnloop_shared.auth import Principal
from learnloop_shared.http.guard import PROBLEM_JSON
from learnloop_shared.http.problems import PROBLEM_SCHEMA, Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal

from ..deps import Deps
from ..domain.xapi.credentials import CredentialCreated, CredentialIn, Credentials
from ..usecases.xapi.credentials import TooManyCredentials

router = APIRouter(prefix="/v1/lrs", tags=["lrs"])
LRS_ADMIN = "lrs:admin"
KeyPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-zA-Z_-]+$")]


def _admin(me: Principal) -> None:
    if not me.has(LRS_ADMIN):
        raise forbidden(f"scope {LRS_ADMIN} is required")


def _problem(description: str) -> dict[str, object]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


@router.post(
    "/credentials",
    response_model=CredentialCreated,
    status_code=201,
    responses={409: _problem("The LRS holds the most credentials it keeps: revoke some first")},
)
async def create_credential(body: CredentialIn, me: CurrentPrincipal, deps: Deps) -> CredentialCreated:
    """A new LRS credential with xAPI scopes. Its ``secret`` is shown only in this answer (the LRS keeps a
    hash). Use ``key:secret`` as HTTP Basic credentials on ``/xapi/``; statements it writes get the authority
    ``{"name": <name>, "account": {"homePage": "<learn>/xapi/credentials", "name": <key>}}``."""
    _admin(me)
    try:
        return await deps.xapi.lrs_credentials.create(body, me.sub)
    except TooManyCredentials as exc:
        raise Problem(409, str(exc)) from None


@router.get("/credentials", response_model=Credentials)
async def list_credentials(me: CurrentPrincipal, deps: Deps) -> Credentials:
    """Every LRS credential, oldest first, without secrets."""
    _admin(me)
    return Credentials(items=await deps.xapi.lrs_credentials.list())


@router.delete("/credentials/{key}", status_code=204, responses={404: _problem("No such credential")})
async def revoke_credential(key: KeyPath, me: CurrentPrincipal, deps: Deps) -> Response:
    """Revoke a credential: requests with it fail (401) within a second (the verification cache)."""
    _admin(me)
    if not await deps.xapi.lrs_credentials.revoke(key):
        raise not_found("credential")
    return Response(status_code=204)
