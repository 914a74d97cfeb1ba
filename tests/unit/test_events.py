import json
from datetime import UTC, datetime

import pytest
from learnloop_shared.events import (
    ShareDelivered,
    UndecodableEvent,
    decode,
    encode,
    make_event,
    stable_event_id,
)


def delivered(**kw):
    base = dict(
        share_id="s1", recipient_id="bob", author_id="alice", title="T", published_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    base.update(kw)
    return ShareDelivered(**base)


def test_round_trip_is_a_structured_cloudevent():
    ev = make_event(delivered(), source="/learnloop/share", subject="s1", event_id="e1")
    doc = json.loads(encode(ev))
    assert doc["specversion"] == "1.0"
    assert doc["type"] == "io.learnloop.share.delivered.v1"
    assert doc["id"] == "e1" and doc["source"] == "/learnloop/share" and doc["subject"] == "s1"
    assert doc["datacontenttype"] == "application/json" and doc["schema_version"] == 1
    back = decode(encode(ev))
    assert back.data == ev.data and back.id == "e1"


def test_unknown_fields_are_ignored():
    doc = json.loads(encode(make_event(delivered(), source="/x")))
    doc["future_attribute"] = 1
    doc["data"]["future_field"] = "ignored"
    assert decode(json.dumps(doc).encode()).data.recipient_id == "bob"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1,2]", "not a CloudEvent"),
        (b'{"id":"1"}', "not a CloudEvent"),
        (b'{"id":"1","source":"/x","type":"io.other.v1","specversion":"1.0"}', "unknown event type"),
        (
            b'{"id":"1","source":"/x","type":"io.learnloop.share.delivered.v1","specversion":"1.0","data":{}}',
            "invalid io.learnloop.share.delivered.v1 data",
        ),
        (b'{"id":"1","source":"/x","type":"io.learnloop.share.delivered.v1","specversion":"0.3"}', "specversion"),
        (None, "tombstone"),
    ],
)
def test_undecodable_messages_say_why(value, reason):
    with pytest.raises(UndecodableEvent, match=reason):
        decode(value)


def test_decoding_picks_the_accepted_type_whatever_the_field_order():
    from learnloop_shared.events import SharePublished

    accept = {ShareDelivered.event_type: ShareDelivered, SharePublished.event_type: SharePublished}
    ev = make_event(delivered(), source="/x", event_id="e1")
    assert isinstance(decode(encode(ev), accept).data, ShareDelivered)
    doc = json.loads(encode(ev))
    reordered = {"data": {**doc["data"], "type": "io.learnloop.share.published.v1"}} | {
        k: v for k, v in doc.items() if k != "data"
    }
    assert isinstance(decode(json.dumps(reordered, indent=1).encode(), accept).data, ShareDelivered)
    with pytest.raises(UndecodableEvent, match="unknown event type"):
        decode(encode(ev), {SharePublished.event_type: SharePublished})


def test_frozen_payloads():
    with pytest.raises(Exception):
        delivered().title = "x"  # type: ignore[misc]


def test_stable_ids_are_deterministic():
    assert stable_event_id("a", "b") == stable_event_id("a", "b") != stable_event_id("a", "c")


@pytest.mark.parametrize("parts", [("notification", "s:u1"), ("a",), ("", ""), ("share.published", "ü€/x" * 30)])
def test_stable_ids_are_uuid5_of_the_joined_parts(parts):
    import uuid

    assert stable_event_id(*parts) == str(uuid.uuid5(uuid.NAMESPACE_URL, "learnloop:" + "/".join(parts)))


def test_fast_delivery_encoding_matches_the_contract_encoder():
    from learnloop_share.usecases.deliveries import DeliveryEncoder, delivered_event

    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    doc = {
        "_id": "share-1",
        "author_id": "alice",
        "title": 'Quotes " and \\ and ünïcode',
        "summary": None,
        "url": "https://x.example/a?b=c",
        "topics": ["kafka.streams"],
        "created_at": at,
        "requires": "applied",
        "due_at": datetime(2026, 1, 3, 17, 0, tzinfo=UTC),
        "revision": 3,
    }
    enc = DeliveryEncoder(doc, "/learnloop/share", time=at)
    for recipient in ("bob", 'we"ird\\id', "ü", "tab\there"):
        assert enc.encode(recipient) == encode(delivered_event(doc, recipient, "/learnloop/share", time=at))
        assert decode(enc.encode(recipient)).data.recipient_id == recipient
    data = decode(enc.encode("bob")).data
    assert (data.requires, data.due_at, data.revision) == ("applied", doc["due_at"], 3)
    assert data.has_checks is False


def test_deliveries_say_a_share_has_a_check_and_never_carry_it():
    from learnloop_share.usecases.deliveries import DeliveryEncoder

    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    check = {"question": "Which partition?", "choices": ["the key's", "any"], "answer": 0}
    doc = {"_id": "s", "author_id": "alice", "title": "T", "created_at": at, "checks": [check], "pass_mark": 0.5}
    raw = DeliveryEncoder(doc, "/learnloop/share", time=at).encode("bob")
    assert decode(raw).data.has_checks is True
    body = json.loads(raw)
    assert "checks" not in body["data"] and "answer" not in raw.decode() and "Which partition" not in raw.decode()


def _request_headers(**override: bytes | None) -> list[tuple[str, bytes]]:
    from learnloop_shared.events import ShareRequested

    headers = {
        "ce_id": b"r-1",
        "ce_source": b"urn:test",
        "ce_type": ShareRequested.event_type.encode(),
        "ce_specversion": b"1.0",
        "content-type": b"application/json",
    }
    headers.update(override)
    return [(k, v) for k, v in headers.items() if v is not None]


_REQUEST_DATA = {"author_id": "a", "title": "t", "audience": {"users": ["b"]}}


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"ce_id": None}, "Missing required attribute: 'id'"),
        ({"ce_specversion": None}, "Missing required attribute: 'specversion'"),
        ({"ce_source": None}, "Missing required attribute: 'source'"),
        ({"ce_type": None}, "Missing required attribute: 'type'"),
        ({"ce_specversion": b"0.3"}, "'specversion' must be '1.0'"),
        ({"ce_id": b""}, "'id' must not be None or empty"),
    ],
)
def test_binary_mode_requires_every_required_attribute(override, reason):
    from learnloop_shared.events import ShareRequested
    from learnloop_shared.events.bindings import decode_kafka

    accept = {ShareRequested.event_type: ShareRequested}
    assert decode_kafka(None, json.dumps(_REQUEST_DATA).encode(), _request_headers(), accept).id == "r-1"
    with pytest.raises(UndecodableEvent, match=reason):
        decode_kafka(None, json.dumps(_REQUEST_DATA).encode(), _request_headers(**override), accept)


@pytest.mark.parametrize("missing", ["id", "source", "type", "specversion"])
def test_structured_mode_requires_every_required_attribute(missing):
    from learnloop_shared.events import ShareRequested
    from learnloop_shared.events.bindings import decode_kafka

    accept = {ShareRequested.event_type: ShareRequested}
    doc = {"id": "r-1", "source": "urn:test", "type": ShareRequested.event_type, "specversion": "1.0"}
    headers = [("content-type", b"application/cloudevents+json")]
    assert decode_kafka(None, json.dumps({**doc, "data": _REQUEST_DATA}).encode(), headers, accept).id == "r-1"
    for bad in ({k: v for k, v in doc.items() if k != missing}, {**doc, "specversion": "0.3"}):
        with pytest.raises(UndecodableEvent, match="not a CloudEvent"):
            decode_kafka(None, json.dumps({**bad, "data": _REQUEST_DATA}).encode(), headers, accept)
