"""Statement validation (xAPI Data part). SKELETON: replaced by the full validator."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .errors import InvalidStatement

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def validate_uuid(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidStatement(f"{what}: must be a UUID string")
    try:
        uuid.UUID(value)
    except ValueError:
        raise InvalidStatement(f"{what}: must be a UUID") from None
    return value


def validate_activity_id(value: object, what: str = "activityId") -> str:
    if not isinstance(value, str) or not _IRI.match(value):
        raise InvalidStatement(f"{what}: must be an IRI")
    return value


def validate_agent(obj: object, version: str, *, what: str = "agent") -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidStatement(f"{what}: must be an object")
    return obj


def validate_statement(statement: object, version: str) -> None:
    if not isinstance(statement, dict):
        raise InvalidStatement("statement: must be an object")
    for key in ("actor", "verb", "object"):
        if key not in statement:
            raise InvalidStatement(f"statement.{key}: is required")
    if "id" in statement:
        validate_uuid(statement["id"], "statement.id")


def validate_statements(statements: object, version: str) -> list[dict[str, Any]]:
    items = statements if isinstance(statements, list) else [statements]
    for s in items:
        validate_statement(s, version)
    return items  # type: ignore[return-value]


def normalise(statement: dict[str, Any]) -> dict[str, Any]:
    ctx = statement.get("context")
    if isinstance(ctx, dict) and isinstance(ctx.get("contextActivities"), dict):
        ca = ctx["contextActivities"]
        for k, v in list(ca.items()):
            if isinstance(v, dict):
                ca[k] = [v]
    return statement
