"""LRS credentials as the admin API shows them (``/v1/lrs/credentials``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_SCOPES = 8
# The xAPI scope names a credential may hold: ``scopes.XAPI_SCOPES`` as a type the API documents (a unit
# test keeps the two equal).
XapiScope = Literal[
    "statements/write", "statements/read/mine", "statements/read", "state", "define", "profile", "all/read", "all"
]


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, description="Who uses it (shown as the authority's name)")]
    scopes: Annotated[
        list[XapiScope], Field(min_length=1, max_length=MAX_SCOPES, description="xAPI scopes the credential grants")
    ]


class Credential(BaseModel):
    """A credential without its secret."""

    key: str
    name: str
    scopes: list[str]
    created_at: datetime
    created_by: str


class CredentialCreated(BaseModel):
    """A new credential: ``secret`` is shown only here. Use ``key:secret`` as HTTP Basic on ``/xapi/``."""

    key: str
    secret: str
    name: str
    scopes: list[str]


class Credentials(BaseModel):
    items: list[Credential]
