"""Bearer-token authentication: HS256 with a local secret, or OIDC tokens checked against a JWKS.

Pure rules (who may do what) live in each service's domain; this module only turns a token into
a :class:`Principal`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from .settings import ServiceSettings

LOCAL_ISSUER = "learnloop-local"


class AuthError(Exception):
    """The request carries no valid token (401)."""


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self._secret = settings.hs256_secret()
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._algorithms = list(settings.auth_algorithms)
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True) if settings.auth_jwks_url else None

    async def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
                algorithms = [a for a in self._algorithms if not a.startswith("HS")] or ["RS256"]
            else:
                key, algorithms = self._secret or "", ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError("invalid token: empty subject")
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        return Principal(sub=sub, scopes=frozenset(scopes))


def issue_token(
    secret: str,
    sub: str,
    scopes: list[str] | tuple[str, ...] = (),
    ttl_s: int = 86400 * 30,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "iat": now, "exp": now + ttl_s, "scope": " ".join(scopes)}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def ensure_local_secret(path: Path) -> str:
    """Read the local signing secret, creating it (mode 0600) on first use."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
