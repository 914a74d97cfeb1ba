from datetime import UTC, datetime

import pytest
from learnloop_notify.domain.notifications import feedback_text, for_delivery, to_notification
from learnloop_shared.events import LearningAcknowledged, ShareDelivered
from learnloop_shared.http.pagination import decode_cursor, encode_cursor, position
from learnloop_shared.http.problems import Problem
from learnloop_shared.mongo import newest_first_after

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor(AT, "n1")) == (AT, "n1")
    assert newest_first_after(position(encode_cursor(AT, "n1")), "created_at") == {
        "$or": [{"created_at": {"$lt": AT}}, {"created_at": AT, "_id": {"$lt": "n1"}}]
    }
    assert newest_first_after(position(None), "created_at") == {}


def test_bad_cursor_is_a_client_error():
    with pytest.raises(Problem) as exc:
        decode_cursor("!!!")
    assert exc.value.status == 422


def _raw(value: object) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _raw(["0001-01-01T00:00:00+05:00", "x"]),  # UTC conversion underflows
        _raw(["9999-12-31T23:59:59-05:00", "x"]),  # ... and overflows
        _raw(["0001-01-01T00:00:00", "x"]),  # representable, but never issued
        _raw(["9999-12-31T23:59:59.999999", "x"]),
        _raw(["2026-01-01T00:00:00+00:00", "x" * 201]),
        _raw(["2026-01-01T00:00:00+00:00", "a\u0000b"]),
        _raw(["2026-01-01T00:00:00+00:00", 7]),
        _raw({"a": 1, "b": 2}),
        _raw([[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]),
        "W" * 5000,
        "WyJbWyJbWyJbWyJbWyJbWyJbWyJbWyJbWyJb" + "W1tb" * 100,
    ],
)
def test_a_cursor_that_was_never_issued_is_422(cursor):
    with pytest.raises(Problem) as exc:
        decode_cursor(cursor)
    assert exc.value.status == 422


def test_a_naive_cursor_time_is_read_as_utc():
    assert decode_cursor(_raw(["2026-01-02T03:04:05.678000", "n1"])) == (AT, "n1")
    assert decode_cursor(_raw(["2026-01-02T04:04:05.678000+01:00", "n1"])) == (AT, "n1")


def ack(kind, **kw):
    return LearningAcknowledged(
        acknowledgement_id="a",
        share_id="s",
        author_id="alice",
        recipient_id="bob",
        title="Kafka tips",
        kind=kind,
        acknowledged_at=AT,
        **kw,
    )


def test_feedback_texts():
    assert feedback_text(ack("question", text="Why?")) == "bob asked about “Kafka tips”: Why?"
    assert feedback_text(ack("rated", rating=4)) == "bob rated “Kafka tips” 4/5"
    assert feedback_text(ack("learned")) == "bob learned from “Kafka tips”"


def test_delivery_notification_id_is_derived_from_the_event():
    d = ShareDelivered(share_id="s", recipient_id="bob", author_id="alice", title="T", published_at=AT)
    assert for_delivery("e1", d, AT)["_id"] == for_delivery("e1", d, AT)["_id"] != for_delivery("e2", d, AT)["_id"]
    assert for_delivery("e1", d, AT)["user_id"] == "bob"


def test_delivery_notification_says_the_share_has_a_knowledge_check_and_nothing_more():
    d = ShareDelivered(
        share_id="s", recipient_id="bob", author_id="alice", title="T", summary="S", published_at=AT, has_checks=True
    )
    doc = for_delivery("e1", d, AT)
    assert doc["text"] == "alice shared “T” with you (with a knowledge check): S"
    assert doc["has_checks"] is True and to_notification(doc).has_checks is True
    assert not {"checks", "answer", "pass_mark", "max_attempts"} & set(doc)
    plain = for_delivery("e2", d.model_copy(update={"has_checks": False}), AT)
    assert plain["text"] == "alice shared “T” with you: S" and "has_checks" not in plain
    assert to_notification(plain).has_checks is False
