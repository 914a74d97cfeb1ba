"""JSON Schemas of the event payloads, generated from the contract models.

Each schema describes the CloudEvents ``data`` of one event type (not the whole event: CloudEvents'
``dataschema`` attribute names the schema of ``data``). It is JSON Schema draft 2020-12, self-contained
(pydantic's ``$defs`` are inlined, so a consumer needs no resolver), with ``$id`` = the event's
``dataschema`` URI. Objects do not forbid other properties: consumers ignore fields they do not know,
which is what lets a v1 type gain optional fields.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .contracts import EVENT_TYPES
from .envelope import EventData, dataschema_for

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def _inline(node: Any, defs: dict[str, Schema], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise ValueError(f"recursive event model {name!r}: event payloads must be trees")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**copy.deepcopy(defs[name]), **siblings}, defs, (*seen, name))
    return {k: _inline(v, defs, seen) for k, v in node.items()}


def data_schema(cls: type[EventData]) -> Schema:
    """The JSON Schema of ``data`` for one event type (what consumers accept and producers send)."""
    raw = cls.model_json_schema(mode="validation")
    defs = raw.pop("$defs", {})
    body: Schema = _inline(raw, defs)
    if "description" in body:  # docstrings are reST; the schema's readers expect Markdown
        body["description"] = body["description"].replace("``", "`")
    return {"$schema": DIALECT, "$id": dataschema_for(cls.event_type), **body}


def event_schemas() -> dict[str, Schema]:
    """Every event type's data schema, by type, in sorted order."""
    return {t: data_schema(EVENT_TYPES[t]) for t in sorted(EVENT_TYPES)}


def dumps(doc: Any) -> str:
    """The committed form of a JSON document: sorted keys, two-space indent, newline at the end."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
