"""Does a new version of an event schema break consumers of the old one?

The rule for a published type (``...v1``): it never breaks. Allowed: new optional properties, wider
enums, looser limits, new or changed titles, descriptions and defaults. Breaking: a property removed
or renamed, a type changed (also ``string`` → ``string | null``: old consumers never saw null), a
property newly required, an enum narrowed, a ``const``, ``format`` or ``pattern`` added, removed or
changed, a limit tightened, ``additionalProperties`` closed. A breaking change needs a new type (``...v2``) and an
upcaster in :mod:`.codec`.

Works on the self-contained schemas of :mod:`.schemas` (no ``$ref``); ``anyOf``/``oneOf`` branches are
compared by JSON type.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Limits that break when added or raised, and when added or lowered.
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_ANY = "any"


def _branches(schema: Schema) -> list[Schema]:
    """The alternatives a value may match, with ``anyOf``/``oneOf`` flattened."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k != key}
            return [b for option in schema[key] for b in _branches({**rest, **option})]
    return [schema]


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return {_ANY}


def _by_type(schema: Schema) -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for branch in _branches(schema):
        for t in sorted(_types(branch)):
            found.setdefault(t, branch)
    return found


def breaking_changes(old: Schema, new: Schema, path: str = "data") -> list[str]:
    """Every change from ``old`` to ``new`` that breaks a consumer or producer of ``old``; empty if none."""
    old_types, new_types = _by_type(old), _by_type(new)
    if set(old_types) != set(new_types):
        return [f"{path}: type changed from {_show(old_types)} to {_show(new_types)}"]
    problems: list[str] = []
    for t in sorted(old_types):
        problems += _compare_branch(old_types[t], new_types[t], path, t)
    return problems


def _show(types: dict[str, Schema]) -> str:
    return " | ".join(sorted(types))


def _compare_branch(old: Schema, new: Schema, path: str, kind: str) -> list[str]:
    problems = _compare_values(old, new, path) + _compare_limits(old, new, path)
    if kind == "object":
        problems += _compare_objects(old, new, path)
    elif kind == "array" and isinstance(old.get("items"), dict):
        new_items = new.get("items")
        if isinstance(new_items, dict):
            problems += breaking_changes(old["items"], new_items, f"{path}[]")
        else:
            problems.append(f"{path}[]: item schema removed")
    return problems


def _compare_values(old: Schema, new: Schema, path: str) -> list[str]:
    problems = []
    if "enum" in new:
        removed = [v for v in old.get("enum", []) if v not in new["enum"]]
        if "enum" not in old:
            problems.append(f"{path}: enum added (narrowed to {new['enum']})")
        elif removed:
            problems.append(f"{path}: enum narrowed (removed {removed})")
    for key in ("const", "format", "pattern"):  # any change: added, removed or different
        if old.get(key) != new.get(key):
            problems.append(f"{path}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
    return problems


def _compare_limits(old: Schema, new: Schema, path: str) -> list[str]:
    problems = []
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{path}: {key} tightened from {old.get(key)!r} to {new[key]!r}")
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{path}: {key} tightened from {old.get(key)!r} to {new[key]!r}")
    return problems


def _compare_objects(old: Schema, new: Schema, path: str) -> list[str]:
    problems = []
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    for name in sorted(old_props):
        if name not in new_props:
            problems.append(f"{path}.{name}: property removed or renamed")
        else:
            problems += breaking_changes(old_props[name], new_props[name], f"{path}.{name}")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        what = "new required property" if name not in old_props else "property made required"
        problems.append(f"{path}.{name}: {what}")
    old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if new_extra is False and old_extra is not False:
        problems.append(f"{path}: additionalProperties closed")
    elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
        problems += breaking_changes(old_extra, new_extra, f"{path}.*")
    elif isinstance(new_extra, dict) and not isinstance(old_extra, dict) and old_extra is not False:
        problems.append(f"{path}.*: additionalProperties constrained")
    return problems
