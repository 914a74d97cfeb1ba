"""Statement comparison (xAPI Data 2.3.1, "Statement Comparison Requirements").

Two statements under the same id are "the same" when they differ only where the spec allows:

- properties the LRS sets or may set: ``stored``, ``authority``, ``version``, and ``timestamp`` when one side
  lacks it (the LRS then set it to ``stored``);
- the representation of a timestamp (time zone, precision): compared as instants, to the millisecond;
- case where it carries no meaning: UUIDs (``id``, ``registration``, StatementRef ids) and ``mbox_sha1sum``;
- the order of a Group's members;
- Activity Definitions (``definition`` of Activities), which the spec keeps outside statement immutability.

Everything else (including the order of other lists) must be equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_LRS_SET = ("stored", "authority", "version")


def _instant(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000).isoformat()


def _agent(a: object) -> object:
    if not isinstance(a, Mapping):
        return _plain(a)
    out: dict[str, Any] = {k: _plain(v) for k, v in a.items() if k != "member"}
    if isinstance(a.get("mbox_sha1sum"), str):
        out["mbox_sha1sum"] = a["mbox_sha1sum"].lower()
    if isinstance(a.get("member"), list):
        members = [_agent(m) for m in a["member"]]
        out["member"] = sorted(members, key=repr)
    out.setdefault("objectType", "Agent")
    return out


def _activity(a: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in a.items() if k != "definition"}
    out.setdefault("objectType", "Activity")
    return out


def _object(o: object) -> object:
    if not isinstance(o, Mapping):
        return _plain(o)
    kind = o.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return _agent(o)
    if kind == "StatementRef":
        return {"objectType": kind, "id": str(o.get("id", "")).lower()}
    if kind == "SubStatement":
        return _statement(o, sub=True)
    return _activity(o)


def _context(c: object) -> object:
    if not isinstance(c, Mapping):
        return _plain(c)
    out: dict[str, Any] = {k: _plain(v) for k, v in c.items()}
    if isinstance(c.get("registration"), str):
        out["registration"] = c["registration"].lower()
    for k in ("instructor", "team"):
        if k in c:
            out[k] = _agent(c[k])
    if isinstance(c.get("statement"), Mapping):
        out["statement"] = _object(c["statement"])
    ca = c.get("contextActivities")
    if isinstance(ca, Mapping):
        out["contextActivities"] = {
            k: [_activity(x) if isinstance(x, Mapping) else _plain(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in ca.items()
        }
    for k, who in (("contextAgents", "agent"), ("contextGroups", "group")):
        if isinstance(c.get(k), list):
            out[k] = [
                {**{kk: _plain(vv) for kk, vv in x.items()}, who: _agent(x.get(who))} if isinstance(x, Mapping) else x
                for x in c[k]
            ]
    return out


def _plain(v: object) -> object:
    """A part compared as it is (statements come from JSON: dicts and lists). Not copied: nothing here
    changes it, and copying recursively would need a stack frame per level of a deep extension."""
    return v


def _statement(s: Mapping[str, Any], *, sub: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {k: _plain(v) for k, v in s.items() if k not in _LRS_SET}
    if isinstance(s.get("id"), str):
        out["id"] = s["id"].lower()
    if "actor" in s:
        out["actor"] = _agent(s["actor"])
    if "object" in s:
        out["object"] = _object(s["object"])
    if "context" in s:
        out["context"] = _context(s["context"])
    if "timestamp" in s:
        out["timestamp"] = _instant(s["timestamp"])
    if sub:
        out["objectType"] = "SubStatement"
    return out


def comparable(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The form two statements are compared in (module docstring): equal forms mean the same statement."""
    return _statement(statement)


def same_statement(a_statement: Mapping[str, Any], b_statement: Mapping[str, Any], *, timestamps: bool = True) -> bool:
    """Whether two statements under one id match (module docstring).

    ``timestamps=False`` when the LRS set the ``timestamp`` of either (its sender had none): timestamps are
    compared only when both senders gave one."""
    a, b = comparable(a_statement), comparable(b_statement)
    if not timestamps or "timestamp" not in a or "timestamp" not in b:
        a.pop("timestamp", None)
        b.pop("timestamp", None)
    a.pop("id", None)
    b.pop("id", None)
    return a == b
