"""Activity definitions in statements, and how the LRS's canonical definition of an Activity evolves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

LANGUAGE_MAPS = ("name", "description")


def _activities(statement: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Activity of a statement that may carry a definition: its object and its context Activities,
    a SubStatement's too."""
    obj = statement.get("object")
    if isinstance(obj, Mapping):
        if obj.get("objectType", "Activity") == "Activity":
            yield obj
        elif obj.get("objectType") == "SubStatement":
            yield from _activities(obj)
    ctx = statement.get("context")
    if isinstance(ctx, Mapping) and isinstance(ctx.get("contextActivities"), Mapping):
        for group in ctx["contextActivities"].values():
            for activity in group if isinstance(group, list) else [group]:
                if isinstance(activity, Mapping):
                    yield activity


def definitions(statements: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(activity id, definition)`` for every defined Activity in ``statements``, in order."""
    out = []
    for s in statements:
        for activity in _activities(s):
            definition = activity.get("definition")
            if isinstance(activity.get("id"), str) and isinstance(definition, Mapping) and definition:
                out.append((activity["id"], definition))
    return out


def merge_definition(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical definition after ``new``: its properties replace the old ones, except the language maps
    (``name``, ``description``), merged per language (the new text wins). ``DocumentStore.keep_definitions``
    applies the same rule in the database."""
    out = dict(old or {})
    for prop, value in new.items():
        if prop in LANGUAGE_MAPS and isinstance(value, Mapping) and isinstance(out.get(prop), Mapping):
            out[prop] = {**out[prop], **value}
        else:
            out[prop] = value
    return out


def latest_definitions(statements: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One merged definition per Activity id over ``statements`` in order (one database write each)."""
    out: dict[str, dict[str, Any]] = {}
    for activity_id, definition in definitions(statements):
        out[activity_id] = merge_definition(out.get(activity_id), definition)
    return out
