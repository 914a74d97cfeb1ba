"""Statement result formats (xAPI Communication 2.1.3 ``format``): ``exact``, ``ids``, ``canonical``.

- ``exact``: the statement as stored.
- ``ids``: Agents and Groups reduced to their IFI (anonymous Groups to their members' IFIs), Activities
  to their id, Verbs to their id.
- ``canonical``: every language map reduced to the one language the caller prefers (``Accept-Language``);
  without a match the first entry is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
# Language maps inside an Activity definition, and the lists of interaction components holding them.
_DEFINITION_MAPS = ("name", "description")
_COMPONENTS = ("choices", "scale", "source", "target", "steps")


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, most preferred first (``*`` and q=0 dropped)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:50]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        if tag and tag != "*" and q > 0:
            ranked.append((-q, i, tag))
    return [t for _, _, t in sorted(ranked)]


def pick_language(lang_map: dict[str, Any], preferred: Sequence[str]) -> dict[str, Any]:
    """One entry of a language map: an exact match of the most preferred range, else a prefix match
    (``en`` for ``en-US`` and the reverse), else ``und``, else the first entry."""
    if len(lang_map) <= 1:
        return lang_map
    lower = {k.lower(): k for k in lang_map}
    for want in preferred:
        if want in lower:
            key = lower[want]
            return {key: lang_map[key]}
        for low, key in lower.items():
            if low.split("-")[0] == want.split("-")[0]:
                return {key: lang_map[key]}
    if "und" in lower:
        return {lower["und"]: lang_map[lower["und"]]}
    key = next(iter(lang_map))
    return {key: lang_map[key]}


def _copy(statement: dict[str, Any]) -> dict[str, Any]:
    """A deep copy. Through JSON, not ``copy.deepcopy``: a statement nests as deep as the JSON parser
    allowed, and deepcopy needs twice the stack for it."""
    out: dict[str, Any] = json.loads(json.dumps(statement))
    return out


def _agent_ids(a: Any) -> Any:
    if not isinstance(a, dict):
        return a
    out: dict[str, Any] = {k: a[k] for k in ("objectType", *_IFIS) if k in a}
    if a.get("objectType") == "Group" and not any(k in a for k in _IFIS) and isinstance(a.get("member"), list):
        out["member"] = [_agent_ids(m) for m in a["member"]]
    return out


def _activity_ids(a: Any) -> Any:
    if not isinstance(a, dict):
        return a
    return {k: a[k] for k in ("objectType", "id") if k in a}


def _walk(s: dict[str, Any], agent: Callable[[Any], Any], activity: Callable[[Any], Any]) -> dict[str, Any]:
    """Apply ``agent``/``activity`` to every Agent/Group and Activity of a statement (SubStatement included)."""
    if "actor" in s:
        s["actor"] = agent(s["actor"])
    if "authority" in s:
        s["authority"] = agent(s["authority"])
    obj = s.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            s["object"] = agent(obj)
        elif kind == "Activity":
            s["object"] = activity(obj)
        elif kind == "SubStatement":
            _walk(obj, agent, activity)
    ctx = s.get("context")
    if isinstance(ctx, dict):
        for k in ("instructor", "team"):
            if k in ctx:
                ctx[k] = agent(ctx[k])
        for k, who in (("contextAgents", "agent"), ("contextGroups", "group")):
            for item in ctx.get(k) or ():
                if isinstance(item, dict) and who in item:
                    item[who] = agent(item[who])
        ca = ctx.get("contextActivities")
        if isinstance(ca, dict):
            for k, acts in ca.items():
                if isinstance(acts, list):
                    ca[k] = [activity(a) for a in acts]
    return s


def ids_format(statement: dict[str, Any]) -> dict[str, Any]:
    """The ``ids`` form of a statement (a new dict)."""
    s = _walk(_copy(statement), _agent_ids, _activity_ids)
    if isinstance(s.get("verb"), dict):
        s["verb"] = {"id": s["verb"].get("id")}
    return s


def canonical_format(statement: dict[str, Any], preferred: Sequence[str]) -> dict[str, Any]:
    """The ``canonical`` form of a statement (a new dict): one language per language map."""

    def reduce(m: Any) -> Any:
        return pick_language(m, preferred) if isinstance(m, dict) else m

    def activity(a: Any) -> Any:
        d = a.get("definition") if isinstance(a, dict) else None
        if isinstance(d, dict):
            for k in _DEFINITION_MAPS:
                if k in d:
                    d[k] = reduce(d[k])
            for k in _COMPONENTS:
                for c in d.get(k) or ():
                    if isinstance(c, dict) and "description" in c:
                        c["description"] = reduce(c["description"])
        return a

    s = _walk(_copy(statement), lambda a: a, activity)
    sub = s.get("object")
    holders: list[dict[str, Any]] = [s, sub] if isinstance(sub, dict) else [s]
    for holder in holders:
        if isinstance(holder.get("verb"), dict) and "display" in holder["verb"]:
            holder["verb"]["display"] = reduce(holder["verb"]["display"])
        for att in holder.get("attachments") or ():
            if isinstance(att, dict):
                for k in ("display", "description"):
                    if k in att:
                        att[k] = reduce(att[k])
    return s


def render(statement: dict[str, Any], fmt: str, preferred: Sequence[str]) -> dict[str, Any]:
    if fmt == "ids":
        return ids_format(statement)
    if fmt == "canonical":
        return canonical_format(statement, preferred)
    return statement
