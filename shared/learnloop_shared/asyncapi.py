"""The AsyncAPI 3.0 document of Learnloop's Kafka topics, generated from the registries in the code.

Topic names and partition counts come from the settings (``Topics``, ``Partitions``), who reads a topic
from :data:`learnloop_shared.settings_doc.READERS`, payloads from the event contracts. What only the
producing code knows (the key, which events travel on the topic, who sends them) is declared once in
:data:`TOPIC_CONTRACTS`, by ``Topics`` field name: a topic added to the settings without an entry
stops the generator with a message saying so, and the committed document's test with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events.contracts import (
    DirectoryTeamChanged,
    DirectoryUserChanged,
    EventDeadLettered,
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningOverdue,
    LearningReminded,
    ShareBuiltOn,
    ShareDelivered,
    SharePublished,
    ShareRequested,
    ShareRetracted,
    ShareRevised,
)
from .events.envelope import JSON, SPECVERSION, STRUCTURED_CONTENT_TYPE, Envelope, EventData, dataschema_for
from .events.schemas import data_schema
from .settings import Partitions, ServiceSettings, Topics
from .settings_doc import READERS

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
Schema = dict[str, Any]


@dataclass(frozen=True)
class TopicContract:
    """What a topic carries, beyond its name and partition count (which are settings)."""

    key: str  # what the Kafka message key is
    events: tuple[type[EventData], ...]
    sent_by: str | None  # the Learnloop component that produces; None: only other systems do
    read: bool = True  # False: no Learnloop component consumes it (READERS says who does)
    binary_mode: bool = False  # also accepted in CloudEvents binary mode (other systems publish here)
    note: str = ""


TOPIC_CONTRACTS: dict[str, TopicContract] = {
    "shares": TopicContract(
        key="share id (for `share.built_on`: the id of the share built on)",
        events=(SharePublished, ShareRevised, ShareRetracted, ShareBuiltOn),
        sent_by="share API (through the outbox)",
    ),
    "deliveries": TopicContract(
        key="recipient id", events=(ShareDelivered,), sent_by="share worker (fan-out, one event per recipient)"
    ),
    "acknowledgements": TopicContract(
        key="share id",
        events=(LearningAcknowledged, LearningAnswered, LearningReminded, LearningOverdue, LearningChecked),
        sent_by="learn API and learn worker's schedule (through the outbox)",
    ),
    "share_requests": TopicContract(
        key="chosen by the publisher (not used by Learnloop)",
        events=(ShareRequested,),
        sent_by=None,
        binary_mode=True,
        note=(
            "Other systems publish here, in either CloudEvents Kafka binding mode. The `source` must belong to a "
            "registered publisher (`PUT /v1/publishers/{id}` on the share service); events are deduplicated on "
            "`source` + `id`, so retry with the same id. Invalid events go to the dead-letter topic with the reason."
        ),
    ),
    "directory": TopicContract(
        key="user id (`directory.user_changed`) or team id (`directory.team_changed`)",
        events=(DirectoryUserChanged, DirectoryTeamChanged),
        sent_by="share API (through the outbox; `POST /v1/directory/republish` re-sends the whole directory)",
        note=(
            "Compacted on Apache Kafka (`cleanup.policy=compact`): the latest event per key is kept. A team's "
            "members come in parts of at most 2,000 (`part`, `parts`, same `version`); consumers keep the "
            "highest complete version."
        ),
    ),
    "dead_letters": TopicContract(
        key="the original message's key",
        events=(EventDeadLettered,),
        sent_by="every consumer (a message it cannot process) and notify's webhook dispatcher (a delivery given up)",
        read=False,
        note=(
            "Each message reports one message a consumer could not process: `reason` says why, `consumer`, `topic`, "
            "`partition` and `offset` say where it was, `value_b64` and `key_b64` hold its original bytes (base64) "
            "and `headers` its headers (decoded as UTF-8). The event id derives from consumer, topic, partition and "
            "offset, so a replay reports a message once; `subject` is `<topic>/<partition>/<offset>`."
        ),
    ),
}

# CloudEvents attributes as Learnloop uses them (descriptions in the generated schemas).
ATTRIBUTES = {
    "id": "Event id; consumers deduplicate on `source` + `id`.",
    "source": "Who produced the event (URI-reference); Learnloop's services use `/learnloop/<service>`.",
    "type": "Event type and version; a breaking change gets a new type (`...v2`).",
    "specversion": "CloudEvents version.",
    "time": "When the fact happened (RFC 3339).",
    "subject": "What the event is about (e.g. the share id).",
    "datacontenttype": "Media type of `data`.",
    "dataschema": (
        "URI of the JSON Schema of `data` (`$id` of docs/events/<type>.json). Set on every event Learnloop "
        "produces; optional on events from other systems."
    ),
    "schema_version": "Learnloop extension, always 1 (the version is part of `type`). Optional.",
}
# W3C trace context, on every message Learnloop produces while tracing is on.
TRACE_HEADERS: Schema = {
    "traceparent": {"type": "string", "description": "W3C trace context (optional)."},
    "tracestate": {"type": "string", "description": "W3C trace context (optional)."},
}


def cloudevent_schema(cls: type[EventData], data_ref: str) -> Schema:
    """The whole CloudEvent in structured mode, from the envelope model, with ``data`` referring to its schema."""
    envelope: type[Envelope[Any]] = Envelope[cls]  # type: ignore[valid-type]
    schema = envelope.model_json_schema(mode="validation")
    schema.pop("$defs", None)
    props: Schema = schema["properties"]
    props["data"] = {"$ref": data_ref}
    props["type"]["const"] = cls.event_type
    props["specversion"]["const"] = SPECVERSION
    props["dataschema"]["examples"] = [dataschema_for(cls.event_type)]
    for name, text in ATTRIBUTES.items():
        props[name]["description"] = text
    schema["required"] = ["specversion", *schema["required"]]
    schema["title"] = f"{cls.__name__} CloudEvent (structured mode)"
    return schema


def binary_headers_schema(cls: type[EventData]) -> Schema:
    """Kafka headers of a CloudEvent in binary mode: ``ce_<attribute>``, ``content-type`` for datacontenttype."""
    structured = cloudevent_schema(cls, "#")["properties"]
    props: Schema = {}
    for name, attr in structured.items():
        if name in ("data", "schema_version"):
            continue
        header = "content-type" if name == "datacontenttype" else f"ce_{name}"
        branches = attr.get("anyOf", [attr])
        text = next(b for b in branches if b.get("type") == "string")
        props[header] = {k: v for k, v in {**attr, **text}.items() if k not in ("anyOf", "default", "title")}
    props["content-type"]["const"] = JSON
    return {
        "type": "object",
        "title": f"{cls.__name__} binary-mode headers",
        "properties": {**props, **TRACE_HEADERS},
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
    }


def structured_headers_schema() -> Schema:
    return {
        "type": "object",
        "properties": {
            "content-type": {"type": "string", "const": STRUCTURED_CONTENT_TYPE},
            **TRACE_HEADERS,
        },
        "required": ["content-type"],
    }


def _component_data_schema(cls: type[EventData]) -> Schema:
    schema = data_schema(cls)
    # Inside the AsyncAPI document: no dialect or base URI of its own (the committed file has them).
    schema.pop("$schema")
    schema.pop("$id")
    return schema


def _messages(contract: TopicContract) -> dict[str, Schema]:
    key_binding = {
        "kafka": {"key": {"type": "string", "description": contract.key}, "bindingVersion": KAFKA_BINDING_VERSION}
    }
    messages: dict[str, Schema] = {}
    for cls in contract.events:
        summary = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "`")  # reST → Markdown
        messages[cls.event_type] = {
            "name": cls.event_type,
            "title": f"{cls.__name__} (CloudEvents structured mode)",
            "summary": summary,
            "description": f"`data` schema: docs/events/{cls.event_type}.json (`{dataschema_for(cls.event_type)}`).",
            "contentType": STRUCTURED_CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/StructuredModeHeaders"},
            "payload": {"$ref": f"#/components/schemas/{cls.event_type}.cloudevent"},
            "bindings": key_binding,
        }
        if contract.binary_mode:
            messages[f"{cls.event_type}.binary"] = {
                "name": f"{cls.event_type}.binary",
                "title": f"{cls.__name__} (CloudEvents binary mode)",
                "summary": summary,
                "description": "Attributes in `ce_*` headers, `data` alone as the value.",
                "contentType": JSON,
                "headers": {"$ref": f"#/components/schemas/{cls.event_type}.binary-headers"},
                "payload": {"$ref": f"#/components/schemas/{cls.event_type}"},
                "bindings": key_binding,
            }
    return messages


def _contracts() -> dict[str, TopicContract]:
    fields = list(Topics.model_fields)
    missing = [f for f in fields if f not in TOPIC_CONTRACTS]
    if missing:
        raise LookupError(
            f"topics {missing} (settings.Topics) have no entry in learnloop_shared.asyncapi.TOPIC_CONTRACTS: "
            "declare their key and events there"
        )
    unknown = [f for f in TOPIC_CONTRACTS if f not in fields]
    if unknown:
        raise LookupError(f"TOPIC_CONTRACTS names topics {unknown} that settings.Topics does not define")
    return {f: TOPIC_CONTRACTS[f] for f in fields}


def _channel(field: str, contract: TopicContract, name: str, partitions: int) -> Schema:
    described = Topics.model_fields[field].description or name
    text = f"{described}. Key: {contract.key}. Partitions: {partitions} (`LEARNLOOP_PARTITIONS__{field.upper()}`)."
    if contract.note:
        text += "\n\n" + contract.note
    return {
        "address": name,
        "title": name,
        "description": text,
        "messages": _messages(contract),
        "bindings": {"kafka": {"topic": name, "partitions": partitions, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _operations(field: str, contract: TopicContract, channel: Schema) -> dict[str, Schema]:
    refs = [{"$ref": f"#/channels/{field}/messages/{m}"} for m in channel["messages"]]
    ops: dict[str, Schema] = {}
    if contract.sent_by is not None:
        ops[f"send_{field}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{field}"},
            "summary": f"Sent by the {contract.sent_by}.",
            "messages": refs,
        }
    if contract.read:
        ops[f"receive_{field}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{field}"},
            "summary": f"Read by the {READERS.get(field, 'Learnloop workers')}.",
            "messages": refs,
        }
    return ops


INFO_DESCRIPTION = """\
Every message is a CloudEvents 1.0 event (https://cloudevents.io). Learnloop writes structured mode
(`content-type: application/cloudevents+json`, the whole event as JSON in the value) and sets `dataschema` to
the URI of the JSON Schema of `data` (committed as docs/events/<type>.json, that URI as its `$id`).
`learnloop.share-requests` also accepts binary mode from other systems.

Versioning: a published type (`...v1`) never changes in a way that breaks its consumers; only optional
fields are added. A breaking change gets a new type (`...v2`) and an upcaster. Consumers ignore fields they
do not know. A message a consumer cannot process goes to `learnloop.dead-letters`.

Topic names and partition counts are the defaults of the `LEARNLOOP_TOPICS__*` and `LEARNLOOP_PARTITIONS__*`
settings. Generated by `learnloop contracts --write`; do not edit by hand."""


def asyncapi_document() -> Schema:
    """The AsyncAPI 3.0 document; key order is the output order (deterministic)."""
    topics, partitions = Topics(), Partitions()
    channels: dict[str, Schema] = {}
    operations: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {"StructuredModeHeaders": structured_headers_schema()}
    for field, contract in _contracts().items():
        name = getattr(topics, field)
        count = getattr(partitions, field, None)
        if not isinstance(count, int):
            raise LookupError(f"topic {field!r} has no partition count in settings.Partitions")
        channel = _channel(field, contract, name, count)
        channels[field] = channel
        operations.update(_operations(field, contract, channel))
        for cls in contract.events:
            schemas[cls.event_type] = _component_data_schema(cls)
            schemas[f"{cls.event_type}.cloudevent"] = cloudevent_schema(cls, f"#/components/schemas/{cls.event_type}")
            if contract.binary_mode:
                schemas[f"{cls.event_type}.binary-headers"] = binary_headers_schema(cls)
    bootstrap = ServiceSettings.model_fields["kafka_bootstrap"].default
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "Learnloop events", "version": "1.0.0", "description": INFO_DESCRIPTION},
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": bootstrap,
                "protocol": "kafka",
                "description": (
                    "The broker `learnloop run` starts. Elsewhere: your Kafka cluster (`LEARNLOOP_KAFKA_BOOTSTRAP`)."
                ),
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
