"""The LRS's documents (xAPI Communication, Document Resources): State, Activity Profile, Agent Profile.

Pure rules, no I/O: where a document lives (:class:`DocumentKey`), its ETag, the preconditions
(``If-Match`` / ``If-None-Match``, and the 409 for a blind overwrite), the JSON merge of ``POST``, and the
parsing of the query parameters every document request carries.

Invariants:
- a document is identified by ``(kind, activity, agent, registration, doc_id)``; ``activity`` is None for an
  Agent Profile, ``agent`` (an IFI key, ``agents.ifi_key``) None for an Activity Profile, ``registration``
  (a lower-case UUID) is only ever set for State;
- a document's ETag is the quoted hex SHA-1 of its bytes, so equal content has an equal ETag;
- ``POST`` merges only when both the stored and the posted document are JSON objects sent as
  ``application/json``; it replaces top-level properties (one level deep), keeping the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from .agents import ifi_key
from .errors import XapiError
from .validation import validate_activity_id, validate_agent, validate_uuid

Kind = Literal["state", "activity_profile", "agent_profile"]
JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"
MAX_ID_CHARS = 1_000  # stateId / profileId
MAX_PARAM_CHARS = 8_000  # activityId, agent (JSON), since


@dataclass(frozen=True)
class DocumentKey:
    """Where one document lives (or, with ``doc_id`` None, the set a list or a delete-all covers)."""

    kind: Kind
    activity: str | None
    agent: str | None
    registration: str | None
    doc_id: str | None


def etag(content: bytes) -> str:
    """The document's entity tag: its quoted hex SHA-1 (``"<40 hex>"``)."""
    return '"' + hashlib.sha1(content).hexdigest() + '"'  # noqa: S324 - a content tag, not a security hash


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``; none → ``application/octet-stream``."""
    if not content_type:
        return DEFAULT_TYPE
    return content_type.split(";", 1)[0].strip().lower() or DEFAULT_TYPE


def is_json(content_type: str | None) -> bool:
    return media_type(content_type) == JSON_TYPE


def _tags(header: str) -> list[str]:
    """The entity tags of an ``If-Match`` / ``If-None-Match`` header (``W/`` dropped: we compare weakly)."""
    out = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag:
            out.append(tag)
    return out


def _matches(header: str, current: str | None) -> bool:
    tags = _tags(header)
    if "*" in tags:
        return current is not None
    if current is None:
        return False
    bare = current.strip('"')
    return any(t == current or t.strip('"') == bare for t in tags)


def check_preconditions(
    current: str | None,
    if_match: str | None,
    if_none_match: str | None,
    *,
    require_header: bool,
    require_header_to_create: bool = False,
) -> None:
    """Raise 412 when ``If-Match`` / ``If-None-Match`` is not met by the document's ETag ``current`` (None when
    it does not exist). Without either header: 409 when ``require_header`` (a PUT where the spec requires one)
    and the document exists; 400 when ``require_header_to_create`` and it does not."""
    if if_match is not None and not _matches(if_match, current):
        raise XapiError("If-Match does not match the document's ETag", status=412)
    if if_none_match is not None and _matches(if_none_match, current):
        raise XapiError("If-None-Match matches the document's ETag: it exists", status=412)
    if if_match is None and if_none_match is None:
        if require_header and current is not None:
            raise XapiError(
                "the document exists: send If-Match with its ETag to overwrite it (or If-None-Match: * to create)",
                status=409,
            )
        if require_header_to_create and current is None:
            raise XapiError("a PUT of a profile document needs If-None-Match: * (to create) or If-Match")


def blind_put_conflicts(kind: Kind, version: str) -> bool:
    """Whether a PUT over an existing document without If-Match/If-None-Match is 409: for the profile
    resources in 1.0.3, and for State too in 2.0 (its concurrency section covers all three)."""
    return kind != "state" or not version.startswith("1.")


def blind_create_refused(kind: Kind, version: str) -> bool:
    """Whether a PUT that creates a document without If-Match/If-None-Match is 400: a profile document in
    1.0.3, as the ADL conformance suite checks it (XAPI-00273, Activity Profile "fails without ETag header");
    State, and everything in 2.0.0, is created without a header."""
    return kind != "state" and version.startswith("1.")


def _json_object(content: bytes, content_type: str | None, what: str) -> dict[str, Any]:
    if not is_json(content_type):
        raise XapiError(f"{what} is not application/json: POST merges JSON objects only")
    try:
        value = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise XapiError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise XapiError(f"{what} is not a JSON object: POST merges JSON objects only")
    return value


def merged(stored: bytes | None, stored_type: str | None, posted: bytes, posted_type: str | None) -> bytes:
    """The document after a ``POST``: the posted JSON object merged over the stored one (top level), or the
    posted object alone when nothing is stored. 400 when either is not a JSON object."""
    new = _json_object(posted, posted_type, "the posted document")
    if stored is None:
        return json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode()
    old = _json_object(stored, stored_type, "the stored document")
    old.update(new)
    return json.dumps(old, separators=(",", ":"), ensure_ascii=False).encode()


def check_put_body(content: bytes, content_type: str | None) -> None:
    """A document sent as ``application/json`` must be JSON (any other type is stored as bytes)."""
    if is_json(content_type):
        try:
            json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise XapiError("the document is sent as application/json but is not valid JSON") from None


# Query parameters ---------------------------------------------------------------------------------------

# What each resource takes (reads also ``since``); anything else, a differing case included, is 400.
PARAMETERS: dict[Kind, frozenset[str]] = {
    "state": frozenset({"activityId", "agent", "registration", "stateId"}),
    "activity_profile": frozenset({"activityId", "profileId"}),
    "agent_profile": frozenset({"agent", "profileId"}),
}


def only_parameters(given: Iterable[str], allowed: Iterable[str]) -> None:
    """400 for a parameter the resource does not take (xAPI: names are case-sensitive, unknown ones refused)."""
    known = set(allowed)
    for name in given:
        if name not in known:
            raise XapiError(f"unknown parameter {name!r} (this resource takes {', '.join(sorted(known))})")


def check_parameters(given: Iterable[str], kind: Kind, *, read: bool) -> None:
    """:func:`only_parameters` of a document resource; reads also take ``since``."""
    only_parameters(given, PARAMETERS[kind] | {"since"} if read else PARAMETERS[kind])


def _required(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise XapiError(f"the {name} parameter is required")
    if len(value) > MAX_PARAM_CHARS:
        raise XapiError(f"{name}: longer than {MAX_PARAM_CHARS} characters")
    return value


def activity_param(value: str | None) -> str:
    return validate_activity_id(_required(value, "activityId"), "activityId")


def agent_param(value: str | None, version: str) -> tuple[dict[str, Any], str]:
    """The ``agent`` parameter (JSON) as a valid Agent (or identified Group, as 2.0 allows) and its IFI key."""
    raw = _required(value, "agent")
    try:
        obj = json.loads(raw)
    except ValueError:
        raise XapiError("agent: must be an Agent as JSON") from None
    agent = validate_agent(obj, version, what="agent")
    if agent.get("objectType", "Agent") not in ("Agent", "Group"):
        raise XapiError("agent: must be an Agent or an identified Group")
    key = ifi_key(agent)
    if key is None:
        raise XapiError("agent: must have an inverse functional identifier (an anonymous Group has none)")
    return agent, key


def registration_param(value: str | None) -> str | None:
    if value is None:
        return None
    return validate_uuid(value, "registration").lower()


def id_param(value: str | None, name: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise XapiError(f"the {name} parameter is required")
        return None
    if value == "" or len(value) > MAX_ID_CHARS:
        raise XapiError(f"{name}: must be 1 to {MAX_ID_CHARS} characters")
    return value


def since_param(value: str | None) -> datetime | None:
    """``since``: an ISO 8601 timestamp; one without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(_required(value, "since"))
    except ValueError:
        raise XapiError("since: must be an ISO 8601 timestamp") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def http_date(at: datetime) -> str:
    """``Last-Modified``: an RFC 9110 HTTP-date."""
    return at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
