"""The published contracts: event schemas, AsyncAPI and OpenAPI documents under docs/, and `dataschema`.

The committed files must be exactly what the code generates (`learnloop contracts --write`), and a
committed event schema may only change in ways its consumers survive (see events/compat.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from learnloop_shared import asyncapi, contracts_doc
from learnloop_shared.events import (
    Audience,
    CheckItem,
    DirectoryTeamChanged,
    DirectoryUserChanged,
    EventDeadLettered,
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningOverdue,
    LearningReminded,
    NotificationCreated,
    ShareBuiltOn,
    ShareDelivered,
    SharePublished,
    ShareRequested,
    ShareRetracted,
    ShareRevised,
    decode,
    encode,
    make_event,
)
from learnloop_shared.events.bindings import decode_kafka
from learnloop_shared.events.compat import breaking_changes
from learnloop_shared.events.contracts import EVENT_TYPES
from learnloop_shared.events.envelope import dataschema_for
from learnloop_shared.settings import Partitions, Topics
from learnloop_shared.share_requests import share_request, to_kafka

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLES = [
    ShareRequested(author_id="a", title="t", audience=Audience(users=("b",))),
    SharePublished(
        share_id="s",
        author_id="a",
        title="t",
        published_at=NOW,
        url="https://x.example",
        checks=(CheckItem(question="q?", choices=("a", "b"), answer=1),),
        pass_mark=0.5,
    ),
    ShareDelivered(share_id="s", recipient_id="b", author_id="a", title="t", published_at=NOW, topics=("k",)),
    LearningAcknowledged(
        acknowledgement_id="k",
        share_id="s",
        author_id="a",
        recipient_id="b",
        title="t",
        kind="rated",
        rating=5,
        acknowledged_at=NOW,
    ),
    ShareRevised(
        share_id="s", author_id="a", revision=2, title="t2", published_at=NOW, revised_at=NOW, changed=("title",)
    ),
    ShareRetracted(share_id="s", author_id="a", title="t", retracted_at=NOW),
    ShareBuiltOn(
        share_id="s", author_id="a", title="t", by_share_id="s2", by_author_id="b", by_title="t2", built_at=NOW
    ),
    LearningAnswered(
        answer_id="x",
        question_id="q",
        share_id="s",
        author_id="a",
        title="t",
        asked_by="b",
        answered_by="a",
        text="yes",
        notify=("b",),
        answered_at=NOW,
    ),
    LearningReminded(
        round_id="s|s60",
        share_id="s",
        author_id="a",
        title="t",
        reason="scheduled",
        recipient_ids=("b",),
        reminded_at=NOW,
    ),
    LearningOverdue(share_id="s", author_id="a", title="t", due_at=NOW, recipients=2, not_completed=1, at=NOW),
    LearningChecked(
        attempt_id="s|b|attempt|1",
        share_id="s",
        author_id="a",
        recipient_id="b",
        title="t",
        attempt=1,
        score=0.5,
        passed=False,
        correct=(True, False),
        checked_at=NOW,
    ),
    DirectoryUserChanged(user_id="b", name="Bob", email="bob@example.com", version=1, changed_at=NOW),
    DirectoryTeamChanged(
        team_id="t",
        name="T",
        teams=("t2",),
        managers=("m",),
        members=("b",),
        members_total=1,
        version=1,
        changed_at=NOW,
    ),
    NotificationCreated(
        notification_id="n", user_id="b", kind="share.delivered", share_id="s", title="t", text="x", created_at=NOW
    ),
    EventDeadLettered(reason="r", consumer="c", topic="t", partition=0, offset=1, value_b64="eA==", headers={"a": "b"}),
]


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return contracts_doc.generate()


# --- dataschema on every event we produce ---------------------------------------------------------------


def test_every_event_type_has_a_sample():
    assert {s.event_type for s in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: d.event_type)
def test_produced_events_carry_dataschema_and_match_the_committed_schema(data):
    doc = json.loads(encode(make_event(data, source="/learnloop/test")))
    uri = f"https://learnloop.io/schemas/events/{data.event_type}.json"
    assert doc["dataschema"] == uri == dataschema_for(data.event_type)
    committed = json.loads((REPO / "docs" / "events" / f"{data.event_type}.json").read_text())
    assert committed["$id"] == uri
    errors = [e.message for e in jsonschema_rs.validator_for(committed).iter_errors(doc["data"])]
    assert errors == []
    assert decode(encode(make_event(data, source="/x"))).dataschema == uri


def test_events_without_dataschema_are_still_accepted():
    doc = json.loads(encode(make_event(SAMPLES[2], source="/x")))
    del doc["dataschema"]
    assert decode(json.dumps(doc).encode()).dataschema is None


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_share_requests_we_publish_carry_dataschema_in_both_modes(mode):
    uri = dataschema_for(ShareRequested.event_type)
    event = share_request("urn:test", {"author_id": "a", "title": "t", "audience": {"users": ["b"]}})
    value, headers = to_kafka(event, mode)
    if mode == "binary":
        assert dict(headers)["ce_dataschema"] == uri.encode()
    else:
        assert json.loads(value)["dataschema"] == uri
    decoded = decode_kafka(None, value, headers, {ShareRequested.event_type: ShareRequested})
    assert decoded.dataschema == uri


def test_binary_share_request_without_dataschema_is_accepted():
    headers = [
        ("ce_id", b"1"),
        ("ce_source", b"urn:other"),
        ("ce_type", ShareRequested.event_type.encode()),
        ("ce_specversion", b"1.0"),
        ("content-type", b"application/json"),
    ]
    value = b'{"author_id": "a", "title": "t", "audience": {"users": ["b"]}}'
    decoded = decode_kafka(None, value, headers, {ShareRequested.event_type: ShareRequested})
    assert decoded.dataschema is None and decoded.data.author_id == "a"


# --- the compatibility comparator ----------------------------------------------------------------------

BASE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "note": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}], "default": None},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "at": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "nested": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["id", "kind"],
}


def changed(edit) -> dict:
    schema = json.loads(json.dumps(BASE))
    edit(schema)
    return schema


def props(s):
    return s["properties"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: props(s).pop("note"), "data.note: property removed or renamed"),
        (lambda s: props(s).update(name=props(s).pop("id")), "data.id: property removed or renamed"),
        (lambda s: props(s)["id"].update(type="integer"), "data.id: type changed from string to integer"),
        (lambda s: props(s).update(id={"anyOf": [{"type": "string"}, {"type": "null"}]}), "type changed"),
        (lambda s: props(s)["nested"]["properties"]["x"].update(type="number"), "data.nested.x: type changed"),
        (lambda s: props(s)["tags"]["items"].update(type="integer"), "data.tags[]: type changed"),
        (lambda s: props(s)["headers"]["additionalProperties"].update(type="integer"), "data.headers.*: type"),
        (lambda s: s["required"].append("note"), "data.note: property made required"),
        (lambda s: props(s)["nested"]["required"].append("y"), "data.nested.y: new required property"),
        (lambda s: (props(s).update(extra={"type": "string"}), s["required"].append("extra")), "new required"),
        (lambda s: props(s)["kind"].update(enum=["a"]), "data.kind: enum narrowed"),
        (lambda s: props(s)["at"].pop("format"), "data.at: format changed"),
        (lambda s: props(s)["at"].update(format="date"), "data.at: format changed"),
        (lambda s: props(s)["id"].update(minLength=2), "data.id: minLength tightened"),
        (lambda s: props(s)["note"]["anyOf"][0].update(maxLength=5), "data.note: maxLength tightened"),
        (lambda s: s.update(additionalProperties=False), "data: additionalProperties closed"),
    ],
    ids=[
        "removed",
        "renamed",
        "retyped",
        "made-nullable",
        "nested-retyped",
        "array-items-retyped",
        "map-values-retyped",
        "optional-made-required",
        "nested-new-required",
        "added-required",
        "enum-narrowed",
        "format-removed",
        "format-changed",
        "min-tightened",
        "max-tightened",
        "closed",
    ],
)
def test_comparator_catches_each_breaking_kind(edit, expected):
    problems = breaking_changes(BASE, changed(edit))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: props(s).update(extra={"type": "string"}),
        lambda s: props(s)["nested"]["properties"].update(y={"type": "boolean"}),
        lambda s: props(s)["kind"].update(enum=["a", "b", "c"], description="what happened"),
        lambda s: props(s)["id"].update(title="Id", description="the id", minLength=0),
        lambda s: props(s)["note"]["anyOf"][0].pop("maxLength"),
        lambda s: s["required"].remove("kind"),
        lambda s: s.update(description="new words"),
    ],
    ids=["optional-added", "nested-optional-added", "enum-widened", "described", "limit-loosened", "unrequired", "doc"],
)
def test_comparator_allows_compatible_changes(edit):
    assert breaking_changes(BASE, changed(edit)) == []


def test_write_refuses_a_breaking_change_to_a_committed_schema(tmp_path):
    event_type = SharePublished.event_type
    committed = json.loads((REPO / "docs" / "events" / f"{event_type}.json").read_text())
    committed["properties"]["legacy"] = {"type": "string"}  # the code no longer has it: "removed"
    (tmp_path / "docs" / "events").mkdir(parents=True)
    (tmp_path / "docs" / "events" / f"{event_type}.json").write_text(json.dumps(committed))
    with pytest.raises(SystemExit, match=r"legacy: property removed or renamed"):
        contracts_doc.write(tmp_path)


# --- the committed files ---------------------------------------------------------------------------------


def test_committed_event_schemas_are_compatible_with_the_code(generated):
    problems = contracts_doc.compatibility_problems(REPO, generated)
    assert problems == [], (
        "a published event schema would break its consumers; add a ...v2 type and an upcaster instead:\n"
        + "\n".join(problems)
    )


def test_committed_contracts_are_up_to_date(generated):
    assert set(generated) >= {
        Path("docs/asyncapi.yaml"),
        *(Path(f"docs/openapi/{s}.json") for s in ("share", "learn", "notify")),
        *(Path(f"docs/events/{t}.json") for t in EVENT_TYPES),
    }
    stale = contracts_doc.stale_files(REPO, generated)
    assert stale == [], f"out of date: {stale}; run `.venv/bin/learnloop contracts --write`"


def test_staleness_check_sees_changed_and_extra_files(tmp_path, generated):
    for path, text in generated.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert contracts_doc.stale_files(tmp_path, generated) == []
    (tmp_path / "docs/openapi/learn.json").write_text("{}\n")
    (tmp_path / "docs/events/io.learnloop.gone.v1.json").write_text("{}\n")
    assert contracts_doc.stale_files(tmp_path, generated) == [
        "docs/openapi/learn.json",
        "docs/events/io.learnloop.gone.v1.json",
    ]


def test_generation_is_deterministic(generated):
    assert contracts_doc.generate() == generated


# --- the AsyncAPI document -------------------------------------------------------------------------------


def test_asyncapi_has_every_topic_from_the_settings_registry():
    doc = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text())
    assert doc["asyncapi"] == "3.0.0"
    topics, partitions = Topics(), Partitions()
    channels = doc["channels"]
    assert set(channels) == set(Topics.model_fields)
    for field, channel in channels.items():
        assert channel["address"] == getattr(topics, field)
        assert channel["bindings"]["kafka"]["partitions"] == getattr(partitions, field)
    expected = {
        "learnloop.shares": (4, "share id"),
        "learnloop.deliveries": (8, "recipient id"),
        "learnloop.acknowledgements": (4, "share id"),
        "learnloop.share-requests": (4, "chosen by the publisher"),
        "learnloop.directory": (4, "user id"),
        "learnloop.dead-letters": (1, "original message's key"),
    }
    for channel in channels.values():
        count, key = expected[channel["address"]]
        assert channel["bindings"]["kafka"]["partitions"] == count
        for message in channel["messages"].values():
            assert key in message["bindings"]["kafka"]["key"]["description"]
    requests = channels["share_requests"]["messages"]
    assert {m["contentType"] for m in requests.values()} == {"application/cloudevents+json", "application/json"}


def test_a_topic_without_a_contract_stops_the_generator(monkeypatch):
    contracts = dict(asyncapi.TOPIC_CONTRACTS)
    contracts.pop("deliveries")
    monkeypatch.setattr(asyncapi, "TOPIC_CONTRACTS", contracts)
    with pytest.raises(LookupError, match=r"\['deliveries'\].*TOPIC_CONTRACTS"):
        asyncapi.asyncapi_document()


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _standalone(doc: dict, schema: dict) -> dict:
    """A component schema with its local $refs inlined (to validate with a plain JSON Schema validator)."""
    if isinstance(schema, dict):
        schema = _resolve(doc, schema)
        return {k: _standalone(doc, v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_standalone(doc, v) for v in schema]
    return schema


ON_TOPICS = [s for s in SAMPLES if not isinstance(s, NotificationCreated)]  # that one goes to webhooks


@pytest.mark.parametrize("data", ON_TOPICS, ids=lambda d: d.event_type)
def test_produced_messages_match_their_asyncapi_message(data):
    doc = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text())
    event = json.loads(encode(make_event(data, source="/learnloop/test", subject="s")))
    messages = [m for c in doc["channels"].values() for k, m in c["messages"].items() if k == data.event_type]
    assert len(messages) == 1
    payload = _standalone(doc, messages[0]["payload"])
    assert [e.message for e in jsonschema_rs.validator_for(payload).iter_errors(event)] == []
    headers = _standalone(doc, messages[0]["headers"])
    assert jsonschema_rs.validator_for(headers).is_valid({"content-type": "application/cloudevents+json"})


def test_binary_share_request_matches_its_asyncapi_message():
    doc = yaml.safe_load((REPO / "docs" / "asyncapi.yaml").read_text())
    message = doc["channels"]["share_requests"]["messages"][f"{ShareRequested.event_type}.binary"]
    event = share_request("urn:test", {"author_id": "a", "title": "t", "audience": {"users": ["b"]}}, subject="x")
    value, headers = to_kafka(event, "binary")
    header_doc = {k: v.decode() for k, v in headers}
    assert jsonschema_rs.validator_for(_standalone(doc, message["headers"])).is_valid(header_doc)
    assert jsonschema_rs.validator_for(_standalone(doc, message["payload"])).is_valid(json.loads(value))


@pytest.mark.parametrize("service", ["share", "learn", "notify"])
def test_committed_openapi_is_what_a_configured_service_serves(service):
    import importlib

    from learnloop_shared.runtime import create_app

    defn = importlib.import_module(f"learnloop_{service}.app").SERVICE
    settings = defn.settings_cls(auth_secret="a-test-secret-that-is-long-enough-for-hs256")
    served = create_app(defn, settings).openapi()
    assert served == json.loads((REPO / "docs" / "openapi" / f"{service}.json").read_text())
