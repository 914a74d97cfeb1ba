"""Statements as the LRS stores them: the properties it sets, and the fields every filter is indexed by.

A stored statement document (collection ``xapi_statements``, ``_id`` = the statement id)::

    {_id, statement, stored, verb, agents, related_agents, activity, related_activities,
     registration, voided, voids, authority_key, attachments, timestamp_set, keys, ref}

- ``statement``: the statement as stored (``id``, ``stored``, ``timestamp``, ``authority``, ``version`` set).
- ``agents``: IFI keys of the actor and of an Agent/Group object (the ``agent`` filter);
  ``related_agents``: every Agent and Group anywhere in it (``related_agents=true``).
- ``activity``: the object's Activity id; ``related_activities``: it and every context Activity, SubStatement included.
- ``voided``: a later voiding statement voids it; ``voids``: the id this (voiding) statement voids.
- ``attachments``: the SHA-2 of each attachment (their content is stored apart, by hash).
- ``timestamp_set``: the LRS set ``timestamp`` (the sender gave none): Statement comparison ignores it.
- ``keys``: what reads look for, one string per value, in the collection's ONE index (``storage``): every
  index entry costs a write, so the fields above are not indexed one by one. :func:`index_keys` lists the
  prefixes; :data:`ALL` is in every statement that is not voided (unfiltered reads), and voiding a statement
  empties its keys, so no read by filters ever meets it. When the object is a StatementRef, the keys of the
  statement it targets follow with an ``@`` prefix, and ``ref`` holds its filter fields
  (:data:`FILTER_FIELDS`): filters match a statement that targets a matching statement (Communication
  2.1.3, "Filter Conditions for StatementRefs"; one level, as the spec describes it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from .agents import agent_keys, ifi_key
from .validation import VOIDED_VERB, normalise, utc_timestamp

VOIDED = VOIDED_VERB
REF = "@"
ALL = "*"
FILTER_FIELDS = ("agents", "related_agents", "verb", "activity", "related_activities", "registration", "authority_key")
# Key prefixes (``keys``): an Agent/Group as actor or object, any other Agent/Group, the verb, the object
# Activity, any other Activity, the registration, the authority, the statement a voiding statement voids.
AGENT, RELATED_AGENT, VERB, ACTIVITY, RELATED_ACTIVITY, REGISTRATION, AUTHORITY, VOIDS = (
    "g|",
    "rg|",
    "v|",
    "a|",
    "ra|",
    "r|",
    "au|",
    "vd|",
)


# How deep a statement's JSON may nest (extensions are free-form): the database refuses documents nested
# deeper than 100 levels, and the statement sits one level down in its document.
MAX_DEPTH = 64


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects/arrays deeper than ``limit`` (iterative: no recursion limit)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Iterable[object] = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def iso(at: datetime) -> str:
    """Timestamps as the LRS writes them: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prepare(statement: dict[str, Any], *, authority: dict[str, Any], stored: datetime, version: str) -> dict[str, Any]:
    """Set what the LRS sets on a valid statement: ``id`` if absent, ``stored``, ``timestamp`` (= stored when
    absent; in UTC under 2.0.0), ``authority`` (the caller's, replacing any sent) and ``version``. Returns the
    same dict."""
    normalise(statement)
    statement.setdefault("id", str(uuid.uuid4()))
    statement["id"] = str(statement["id"]).lower()
    statement["stored"] = iso(stored)
    statement.setdefault("timestamp", statement["stored"])
    if not version.startswith("1."):  # xAPI 2.0.0: the LRS converts timestamps to UTC rather than refuse offsets
        statement["timestamp"] = utc_timestamp(statement["timestamp"])
    statement["authority"] = authority
    statement.setdefault("version", "1.0.0" if version.startswith("1.") else version)
    return statement


def _object_agents(obj: Mapping[str, Any]) -> Iterator[str]:
    if obj.get("objectType") in ("Agent", "Group"):
        yield from agent_keys(obj)


def _all_agents(s: Mapping[str, Any]) -> Iterator[str]:
    yield from agent_keys(s.get("actor", {}))
    obj = s.get("object", {})
    yield from _object_agents(obj)
    if obj.get("objectType") == "SubStatement":
        yield from _all_agents(obj)
    ctx = s.get("context") or {}
    for k in ("instructor", "team"):
        if isinstance(ctx.get(k), Mapping):
            yield from agent_keys(ctx[k])
    for k in ("contextAgents", "contextGroups"):
        for item in ctx.get(k) or ():
            who = item.get("agent") or item.get("group") if isinstance(item, Mapping) else None
            if isinstance(who, Mapping):
                yield from agent_keys(who)
    if isinstance(s.get("authority"), Mapping):
        yield from agent_keys(s["authority"])


def _all_activities(s: Mapping[str, Any]) -> Iterator[str]:
    obj = s.get("object", {})
    if obj.get("objectType", "Activity") == "Activity" and "id" in obj:
        yield obj["id"]
    if obj.get("objectType") == "SubStatement":
        yield from _all_activities(obj)
    ctx_acts = (s.get("context") or {}).get("contextActivities") or {}
    for acts in ctx_acts.values():
        for a in acts if isinstance(acts, list) else [acts]:
            if isinstance(a, Mapping) and "id" in a:
                yield a["id"]


def ref_target(statement: Mapping[str, Any]) -> str | None:
    """The id a statement's StatementRef object targets, or None."""
    obj = statement.get("object") or {}
    if obj.get("objectType") == "StatementRef" and isinstance(obj.get("id"), str):
        return str(obj["id"]).lower()
    return None


def filter_keys(doc: Mapping[str, Any]) -> list[str]:
    """The filter keys of a document's filter fields (:data:`FILTER_FIELDS`); a related agent or activity
    that is also the actor/object one, or the authority, is listed once (a related filter looks for every
    prefix it may be under): each key is an index entry, and entries are what a write pays for."""
    agents = list(doc.get("agents") or ())
    authority, activity = doc.get("authority_key"), doc.get("activity")
    keys = [AGENT + a for a in agents]
    keys += [RELATED_AGENT + a for a in doc.get("related_agents") or () if a not in agents and a != authority]
    if doc.get("verb") is not None:
        keys.append(VERB + doc["verb"])
    if activity is not None:
        keys.append(ACTIVITY + activity)
    keys += [RELATED_ACTIVITY + a for a in doc.get("related_activities") or () if a != activity]
    if doc.get("registration") is not None:
        keys.append(REGISTRATION + doc["registration"])
    if authority is not None:
        keys.append(AUTHORITY + authority)
    return keys


def index_keys(doc: Mapping[str, Any]) -> list[str]:
    """The ``keys`` of a new document (module docstring), before any ``@`` keys."""
    keys = [ALL, *filter_keys(doc)]
    if doc["voids"] is not None:
        keys.append(VOIDS + doc["voids"])
    return keys


def ref_fields(target: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ref`` of a statement whose StatementRef points at the document ``target``."""
    return {k: target.get(k) for k in FILTER_FIELDS}


def ref_keys(target: Mapping[str, Any]) -> list[str]:
    """The ``@`` keys a statement gets from the document ``target`` its StatementRef points at."""
    return [REF + k for k in filter_keys(ref_fields(target))]


def stored_document(statement: dict[str, Any], stored: datetime, *, timestamp_set: bool = False) -> dict[str, Any]:
    """The document that holds a prepared statement (module docstring); the intake adds the ``@`` keys."""
    obj = statement["object"]
    actor_keys = list(agent_keys(statement["actor"]))
    actor_keys.extend(_object_agents(obj))
    verb = statement["verb"]["id"]
    authority = statement.get("authority")
    doc: dict[str, Any] = {
        "_id": statement["id"],
        "statement": statement,
        "stored": stored,
        "verb": verb,
        "agents": sorted(set(actor_keys)),
        "related_agents": sorted(set(_all_agents(statement))),
        "activity": obj["id"] if obj.get("objectType", "Activity") == "Activity" else None,
        "related_activities": sorted(set(_all_activities(statement))),
        "registration": _registration(statement),
        "voided": False,
        "voids": str(obj["id"]).lower() if verb == VOIDED and obj.get("objectType") == "StatementRef" else None,
        "authority_key": ifi_key(authority) if isinstance(authority, Mapping) else None,
        "attachments": [a.get("sha2") for a in statement.get("attachments") or ()],
        "timestamp_set": timestamp_set,
    }
    doc["keys"] = index_keys(doc)
    return doc


def _registration(statement: Mapping[str, Any]) -> str | None:
    reg = (statement.get("context") or {}).get("registration")
    return reg.lower() if isinstance(reg, str) else None
