"""``GET /xapi/statements`` parameters (xAPI Communication 2.1.3): parsed and checked, no I/O.

- ``statementId`` / ``voidedStatementId`` take only ``attachments`` and ``format`` beside them.
- Unknown parameters, repeated parameters and malformed values are 400.
- ``limit`` 0 (or absent) means :data:`PAGE_MAX`; larger limits are capped at it.
- ``cursor`` is the LRS's own paging token, only ever taken from a ``more`` URL: the ``(stored, id)`` of the
  last statement of the previous page. Paging on that pair (the read order) is stable under concurrent inserts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .agents import ifi_key
from .errors import XapiError
from .statements import ACTIVITY, AGENT, AUTHORITY, REGISTRATION, RELATED_ACTIVITY, RELATED_AGENT, VERB
from .validation import validate_activity_id, validate_agent, validate_uuid

PAGE_MAX = 500
FORMATS = ("exact", "ids", "canonical")
_SINGLE = frozenset({"statementId", "voidedStatementId"})
_WITH_SINGLE = frozenset({"attachments", "format"})
_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
        "cursor",
    }
    | _SINGLE
)
_MAX_PARAM_CHARS = 8192


@dataclass(frozen=True)
class Condition:
    """One filter: a statement meets it when its ``keys`` hold one of ``keys``, equally when its document
    field ``field`` holds ``value`` (a list field: holds it among others)."""

    keys: list[str]
    field: str
    value: str


@dataclass(frozen=True)
class StatementQuery:
    """One read: by id (``statement_id``/``voided_statement_id``) or by filters (the rest)."""

    statement_id: str | None = None
    voided_statement_id: str | None = None
    agent_key: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = PAGE_MAX
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False
    after: tuple[datetime, str] | None = None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def single(self) -> bool:
        return self.statement_id is not None or self.voided_statement_id is not None

    def conditions(self) -> list[Condition]:
        """The filters, most selective first (registration, agent, activity, verb): a statement matches when
        it meets every one. Each names its ``keys`` (``domain.xapi.statements``; any of them) and the plain
        document field and value that say the same."""
        out: list[Condition] = []
        if self.registration is not None:
            out.append(Condition([REGISTRATION + self.registration], "registration", self.registration))
        if self.agent_key is not None:
            a = self.agent_key
            if self.related_agents:
                out.append(Condition([AGENT + a, RELATED_AGENT + a, AUTHORITY + a], "related_agents", a))
            else:
                out.append(Condition([AGENT + a], "agents", a))
        if self.activity is not None:
            act = self.activity
            if self.related_activities:
                out.append(Condition([ACTIVITY + act, RELATED_ACTIVITY + act], "related_activities", act))
            else:
                out.append(Condition([ACTIVITY + act], "activity", act))
        if self.verb is not None:
            out.append(Condition([VERB + self.verb], "verb", self.verb))
        return out

    def more_url(self, path: str, last_stored: datetime, last_id: str) -> str:
        """The ``more`` IRL of the page after the one that ended at ``(last_stored, last_id)``."""
        params = [(k, v) for k, v in self.params if k != "cursor"]
        params.append(("cursor", encode_cursor(last_stored, last_id)))
        return f"{path}?{urlencode(params)}"


def _bool(name: str, value: str) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise XapiError(f"{name}: must be true or false")


def _time(name: str, value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise XapiError(f"{name}: must be an ISO 8601 timestamp") from None


def encode_cursor(stored: datetime, statement_id: str) -> str:
    ms = int(stored.replace(tzinfo=stored.tzinfo or UTC).timestamp() * 1000)
    return base64.urlsafe_b64encode(json.dumps([ms, statement_id]).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        ms, sid = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(ms, int) or not isinstance(sid, str):
            raise ValueError(token)
        return datetime.fromtimestamp(ms / 1000, UTC), sid
    except (ValueError, TypeError, OverflowError, OSError, binascii.Error):
        raise XapiError("cursor: not a paging token from this LRS (use the more URL as given)") from None


def parse_query(items: Sequence[tuple[str, str]], version: str) -> StatementQuery:
    """The query of ``GET /xapi/statements`` from its parameters (module docstring); raises XapiError (400)."""
    params: dict[str, str] = {}
    for key, value in items:
        if key not in _PARAMS:
            raise XapiError(f"unknown parameter {key!r}")
        if key in params:
            raise XapiError(f"parameter {key!r} given twice")
        if len(value) > _MAX_PARAM_CHARS:
            raise XapiError(f"{key}: longer than {_MAX_PARAM_CHARS} characters")
        params[key] = value
    q = StatementQuery(params=tuple(items))
    if "format" in params:
        if params["format"] not in FORMATS:
            raise XapiError(f"format: must be one of {', '.join(FORMATS)}")
        q = replace(q, format=params["format"])
    if "attachments" in params:
        q = replace(q, attachments=_bool("attachments", params["attachments"]))
    single = _SINGLE & params.keys()
    if single:
        if len(single) > 1:
            raise XapiError("statementId and voidedStatementId exclude each other")
        extra = params.keys() - single - _WITH_SINGLE
        if extra:
            raise XapiError(f"{', '.join(sorted(extra))} cannot be used with {next(iter(single))}")
        name = next(iter(single))
        sid = validate_uuid(params[name], name).lower()
        if name == "statementId":
            return replace(q, statement_id=sid)
        return replace(q, voided_statement_id=sid)
    return _filters(q, params, version)


def _filters(q: StatementQuery, params: Mapping[str, str], version: str) -> StatementQuery:
    changes: dict[str, Any] = {}
    if "agent" in params:
        try:
            raw = json.loads(params["agent"])
        except ValueError:
            raise XapiError("agent: must be an Agent or identified Group as JSON") from None
        agent = validate_agent(raw, version, what="agent")
        key = ifi_key(agent)
        if key is None:
            raise XapiError("agent: must be an Agent or an identified Group (with an IFI)")
        changes["agent_key"] = key
    if "verb" in params:
        changes["verb"] = validate_activity_id(params["verb"], what="verb")
    if "activity" in params:
        changes["activity"] = validate_activity_id(params["activity"], what="activity")
    if "registration" in params:
        changes["registration"] = validate_uuid(params["registration"], "registration").lower()
    for name in ("related_activities", "related_agents", "ascending"):
        if name in params:
            changes[name] = _bool(name, params[name])
    for name in ("since", "until"):
        if name in params:
            changes[name] = _time(name, params[name])
    if "limit" in params:
        raw_limit = params["limit"]
        if not raw_limit.isdigit():
            raise XapiError("limit: must be a non-negative integer")
        limit = int(raw_limit)
        changes["limit"] = PAGE_MAX if limit == 0 else min(limit, PAGE_MAX)
    if "cursor" in params:
        changes["after"] = decode_cursor(params["cursor"])
    return replace(q, **changes)
