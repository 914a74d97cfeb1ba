"""Pure parts of the Statement resource: comparison, query parameters, formats, multipart, attachments,
signatures and the stored document."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from learnloop_learn.domain.xapi.attachments import match_parts
from learnloop_learn.domain.xapi.compare import same_statement
from learnloop_learn.domain.xapi.errors import XapiError
from learnloop_learn.domain.xapi.formats import canonical_format, ids_format, parse_accept_language, pick_language
from learnloop_learn.domain.xapi.multipart import Part, build, parse
from learnloop_learn.domain.xapi.query import PAGE_MAX, decode_cursor, encode_cursor, parse_query
from learnloop_learn.domain.xapi.signatures import verify_signature
from learnloop_learn.domain.xapi.statements import ref_keys, stored_document

V = "1.0.3"


def statement(**extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "id": "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10",
        "actor": {"objectType": "Agent", "mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": "http://example.com/a"},
    }
    s.update(extra)
    return s


# Statement comparison (Data 2.3.1)


def test_statements_that_differ_only_in_what_the_lrs_sets_are_the_same() -> None:
    a = statement()
    b = {**statement(), "stored": "2026-01-01T00:00:00Z", "authority": {"mbox": "mailto:x@y"}, "version": "1.0.0"}
    assert same_statement(a, b)


def test_timestamps_compare_as_instants_and_only_when_both_senders_gave_one() -> None:
    a = statement(timestamp="2026-01-02T03:04:05.678Z")
    assert same_statement(a, statement(timestamp="2026-01-02T04:04:05.678+01:00"))
    assert not same_statement(a, statement(timestamp="2026-01-02T03:04:06Z"))
    assert same_statement(a, statement(timestamp="2030-01-01T00:00:00Z"), timestamps=False)
    assert same_statement(statement(), statement(timestamp="2030-01-01T00:00:00Z"))


def test_uuid_case_member_order_and_activity_definitions_are_ignored() -> None:
    m1, m2 = {"mbox": "mailto:a@example.com"}, {"mbox_sha1sum": "ABCDEF"}
    a = statement(actor={"objectType": "Group", "member": [m1, m2]}, context={"registration": "AAAA-1"})
    b = statement(
        actor={"objectType": "Group", "member": [{"mbox_sha1sum": "abcdef"}, m1]}, context={"registration": "aaaa-1"}
    )
    b["object"]["definition"] = {"name": {"en-US": "x"}}
    b["id"] = b["id"].upper()
    assert same_statement(a, b)


def test_a_different_verb_result_or_list_order_is_a_different_statement() -> None:
    assert not same_statement(statement(), statement(verb={"id": "http://example.com/other"}))
    assert not same_statement(statement(result={"success": True}), statement(result={"success": False}))
    ca1 = {"contextActivities": {"parent": [{"id": "http://e/1"}, {"id": "http://e/2"}]}}
    ca2 = {"contextActivities": {"parent": [{"id": "http://e/2"}, {"id": "http://e/1"}]}}
    assert not same_statement(statement(context=ca1), statement(context=ca2))


def test_a_single_context_activity_equals_a_list_of_one() -> None:
    one = {"contextActivities": {"parent": {"id": "http://e/1"}}}
    listed = {"contextActivities": {"parent": [{"id": "http://e/1"}]}}
    assert same_statement(statement(context=one), statement(context=listed))


# Query parameters (Communication 2.1.3)


def test_filters_are_parsed_and_limit_zero_is_the_maximum() -> None:
    q = parse_query(
        [
            ("agent", json.dumps({"mbox": "mailto:ann@example.com"})),
            ("verb", "http://adlnet.gov/expapi/verbs/experienced"),
            ("registration", "3F2A6B0E-2B9A-4C6E-9A31-6F7C2D4E5A10"),
            ("since", "2026-01-01T00:00:00+01:00"),
            ("limit", "0"),
            ("ascending", "true"),
            ("related_agents", "false"),
        ],
        V,
    )
    assert q.agent_key == "mbox|mailto:ann@example.com"
    assert q.registration == "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10"
    assert q.since == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert q.limit == PAGE_MAX and q.ascending and not q.related_agents
    assert parse_query([("limit", str(PAGE_MAX * 10))], V).limit == PAGE_MAX


@pytest.mark.parametrize(
    "items",
    [
        [("foo", "1")],
        [("limit", "1"), ("limit", "2")],
        [("statementId", "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10"), ("verb", "http://e/v")],
        [
            ("statementId", "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10"),
            ("voidedStatementId", "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10"),
        ],
        [("limit", "-1")],
        [("format", "nope")],
        [("ascending", "1")],
        [("until", "not a time")],
        [("agent", "{")],
        [("agent", json.dumps({"objectType": "Group", "member": []}))],
        [("cursor", "!!")],
        [("until", "9999-12-31T23:59:59-01:00")],
        [("cursor", "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LCAieCJd")],  # [99999999999999999999, "x"]
    ],
)
def test_bad_parameters_are_400(items: list[tuple[str, str]]) -> None:
    with pytest.raises(XapiError) as err:
        parse_query(items, V)
    assert err.value.status == 400


def test_statement_id_takes_format_and_attachments() -> None:
    q = parse_query(
        [("statementId", "3F2A6B0E-2B9A-4C6E-9A31-6F7C2D4E5A10"), ("format", "ids"), ("attachments", "true")], V
    )
    assert q.single and q.statement_id == "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10" and q.format == "ids" and q.attachments


def test_more_urls_carry_the_query_and_a_cursor_that_round_trips() -> None:
    q = parse_query([("verb", "http://e/v"), ("limit", "2")], V)
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    url = q.more_url("/xapi/statements", at, "abc")
    assert url.startswith("/xapi/statements?verb=http%3A%2F%2Fe%2Fv&limit=2&cursor=")
    token = url.rsplit("cursor=", 1)[1]
    assert decode_cursor(token) == (at, "abc") == decode_cursor(encode_cursor(at, "abc"))
    again = parse_query([("verb", "http://e/v"), ("limit", "2"), ("cursor", token)], V)
    assert again.after == (at, "abc")
    assert again.more_url("/xapi/statements", at, "abd").count("cursor=") == 1


# Formats


def test_accept_language_is_ranked_by_quality() -> None:
    assert parse_accept_language("de;q=0.5, fr-FR, en;q=0.9, *;q=0.1") == ["fr-fr", "en", "de"]
    assert parse_accept_language(None) == []


def test_pick_language_prefers_exact_then_prefix_then_und_then_first() -> None:
    m = {"en-US": "a", "fr-FR": "b", "und": "c"}
    assert pick_language(m, ["fr-fr"]) == {"fr-FR": "b"}
    assert pick_language(m, ["fr"]) == {"fr-FR": "b"}
    assert pick_language(m, ["de"]) == {"und": "c"}
    assert pick_language({"en-US": "a", "fr-FR": "b"}, []) == {"en-US": "a"}


def test_ids_format_reduces_agents_activities_and_verbs() -> None:
    s = statement(context={"instructor": {"name": "I", "mbox": "mailto:i@e"}})
    s["actor"]["name"] = "Ann"
    s["object"]["definition"] = {"name": {"en-US": "A"}}
    out = ids_format(s)
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.com"}
    assert out["verb"] == {"id": s["verb"]["id"]}
    assert out["object"] == {"objectType": "Activity", "id": "http://example.com/a"}
    assert out["context"]["instructor"] == {"mbox": "mailto:i@e"}
    assert s["actor"]["name"] == "Ann"  # the input is left alone


def test_ids_format_keeps_the_members_of_an_anonymous_group() -> None:
    s = statement(actor={"objectType": "Group", "name": "G", "member": [{"name": "M", "mbox": "mailto:m@e"}]})
    assert ids_format(s)["actor"] == {"objectType": "Group", "member": [{"mbox": "mailto:m@e"}]}


def test_canonical_format_keeps_one_language_per_map() -> None:
    s = statement()
    s["verb"]["display"] = {"en-US": "experienced", "fr-FR": "vécu"}
    s["object"]["definition"] = {
        "name": {"en-US": "A", "fr-FR": "Un"},
        "choices": [{"id": "c", "description": {"en-US": "C", "fr-FR": "Ce"}}],
    }
    out = canonical_format(s, ["fr"])
    assert out["verb"]["display"] == {"fr-FR": "vécu"}
    assert out["object"]["definition"]["name"] == {"fr-FR": "Un"}
    assert out["object"]["definition"]["choices"][0]["description"] == {"fr-FR": "Ce"}


# multipart/mixed


def test_multipart_round_trips_binary_content() -> None:
    content = b"\x00\xff\r\n--x\r\n\r\nend"
    body, ctype = build(
        [Part({"Content-Type": "application/json"}, b"{}"), Part({"X-Experience-API-Hash": "h"}, content)]
    )
    parts = parse(body, ctype)
    assert [p.body for p in parts] == [b"{}", content]
    assert parts[0].content_type == "application/json" and parts[1].headers["x-experience-api-hash"] == "h"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--b\r\n\r\n{}\r\n--b--", "multipart/mixed"),
        (b"no boundary here", "multipart/mixed; boundary=b"),
        (b"--b\r\nContent-Type: application/json\r\n\r\n{}", "multipart/mixed; boundary=b"),
        (b"--b\r\nbroken header\r\n\r\n{}\r\n--b--", "multipart/mixed; boundary=b"),
        (b"--b--", "multipart/mixed; boundary=b"),
    ],
)
def test_broken_multipart_is_400(body: bytes, ctype: str) -> None:
    with pytest.raises(XapiError):
        parse(body, ctype)


def test_a_quoted_boundary_is_accepted() -> None:
    parts = parse(
        b"--a b\r\nContent-Type: application/json\r\n\r\n[]\r\n--a b--\r\n", 'multipart/mixed; boundary="a b"'
    )
    assert parts[0].body == b"[]"


# Attachments


def _declared(content: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "usageType": "http://e/u",
        "display": {"en-US": "x"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
        **extra,
    }


def _part(content: bytes, sha2: str | None = None) -> Part:
    return Part(
        {"x-experience-api-hash": sha2 or hashlib.sha256(content).hexdigest(), "content-type": "text/plain"}, content
    )


def test_every_declared_attachment_without_file_url_needs_a_part() -> None:
    s = statement(attachments=[_declared(b"x"), _declared(b"y", fileUrl="http://e/y")])
    with pytest.raises(XapiError):
        match_parts([s], [])
    got = match_parts([s], [_part(b"x")])
    assert [(c.sha2, c.content) for c in got] == [(hashlib.sha256(b"x").hexdigest(), b"x")]


def test_undeclared_parts_and_wrong_hashes_are_400() -> None:
    with pytest.raises(XapiError):
        match_parts([statement()], [_part(b"x")])
    s = statement(attachments=[_declared(b"x")])
    with pytest.raises(XapiError):
        match_parts([s], [_part(b"other", hashlib.sha256(b"x").hexdigest())])
    sha512 = hashlib.sha512(b"x").hexdigest()
    assert match_parts([statement(attachments=[_declared(b"x", sha2=sha512)])], [_part(b"x", sha512)])


# Signed statements (Data 2.6)


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def test_a_signature_of_the_statement_verifies() -> None:
    key, cert = _key_and_cert()
    s = statement()
    token = jwt.api_jws.encode(json.dumps(s).encode(), key, algorithm="RS384", headers={"x5c": [cert]})
    signed = {
        **s,
        "attachments": [_declared(token.encode(), usageType="http://adlnet.gov/expapi/attachments/signature")],
    }
    verify_signature(signed, token.encode())


@pytest.mark.parametrize("bad", ["payload", "key", "alg", "garbage"])
def test_bad_signatures_are_400(bad: str) -> None:
    key, cert = _key_and_cert()
    s = statement()
    payload = statement(verb={"id": "http://e/other"}) if bad == "payload" else s
    alg = "HS256" if bad == "alg" else "RS256"
    signing_key: Any = b"0" * 32 if bad == "alg" else key
    if bad == "key":
        _, cert = _key_and_cert()
    token = jwt.api_jws.encode(json.dumps(payload).encode(), signing_key, algorithm=alg, headers={"x5c": [cert]})
    raw = b"garbage" if bad == "garbage" else token.encode()
    with pytest.raises(XapiError):
        verify_signature(s, raw)


# The stored document


def test_the_stored_document_indexes_every_filter_field() -> None:
    s = statement(
        context={
            "registration": "AB-CD",
            "instructor": {"mbox": "mailto:i@e"},
            "contextActivities": {"parent": [{"id": "http://e/p"}]},
        },
        authority={"mbox": "mailto:auth@e"},
    )
    d = stored_document(s, datetime.now(UTC), timestamp_set=True)
    assert d["agents"] == ["mbox|mailto:ann@example.com"]
    assert set(d["related_agents"]) == {"mbox|mailto:ann@example.com", "mbox|mailto:i@e", "mbox|mailto:auth@e"}
    assert d["activity"] == "http://example.com/a"
    assert d["related_activities"] == ["http://e/p", "http://example.com/a"]
    assert d["registration"] == "ab-cd" and d["timestamp_set"]
    assert set(d["keys"]) == {
        "*",
        "g|mbox|mailto:ann@example.com",
        "rg|mbox|mailto:i@e",
        f"v|{s['verb']['id']}",
        "a|http://example.com/a",
        "ra|http://e/p",
        "r|ab-cd",
        "au|mbox|mailto:auth@e",
    }
    refs = ref_keys(d)
    assert f"@v|{s['verb']['id']}" in refs and "@a|http://example.com/a" in refs
    assert "@au|mbox|mailto:auth@e" in refs


def test_query_conditions_use_both_prefixes_for_related_filters() -> None:
    q = parse_query(
        [("agent", json.dumps({"mbox": "mailto:a@e"})), ("related_agents", "true"), ("verb", "http://v")], V
    )
    agent_cond, verb_cond = q.conditions()
    assert agent_cond.keys == ["g|mbox|mailto:a@e", "rg|mbox|mailto:a@e", "au|mbox|mailto:a@e"]
    assert (agent_cond.field, agent_cond.value) == ("related_agents", "mbox|mailto:a@e")
    assert (verb_cond.keys, verb_cond.field) == (["v|http://v"], "verb")
    (act,) = parse_query([("activity", "http://a")], V).conditions()
    assert (act.keys, act.field) == (["a|http://a"], "activity")


def test_reads_are_flat_filters_on_the_one_index() -> None:
    from learnloop_learn.storage.xapi.statements import filter_of

    assert filter_of(parse_query([], V)) == {"keys": "*"}
    assert filter_of(parse_query([], V), "mbox|mailto:me@e") == {
        "keys": "au|mbox|mailto:me@e",
        "authority_key": "mbox|mailto:me@e",
    }
    reg = "3f2a6b0e-2b9a-4c6e-9a31-6f7c2d4e5a10"
    q = parse_query([("verb", "http://v"), ("registration", reg), ("ascending", "true")], V)
    assert filter_of(q) == {"keys": f"r|{reg}", "verb": "http://v"}
    assert filter_of(q, ref=True) == {"keys": f"@r|{reg}", "ref.verb": "http://v"}


def test_multipart_with_lf_line_endings_is_read_consistently() -> None:
    body = b"--b\nContent-Type: application/json\n\n[]\n--b\nX-Experience-API-Hash: h\n\nhere\r\n\n--b--\n"
    parts = parse(body, "multipart/mixed; boundary=b")
    assert [p.body for p in parts] == [b"[]", b"here\r\n"]


def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for _ in range(depth - 1):
        cur["x"] = {}
        cur = cur["x"]
    return root


def test_deeply_nested_extensions_are_compared_and_formatted_without_recursion_errors() -> None:
    s = statement(result={"extensions": {"http://e": _nested(900)}})
    twin = json.loads(json.dumps(s))
    assert same_statement(s, twin)
    assert ids_format(s)["result"] == s["result"]
    assert canonical_format(s, ["en"])["result"] == s["result"]


def test_nesting_depth_is_measured_without_recursion() -> None:
    from learnloop_learn.domain.xapi.statements import MAX_DEPTH, too_deep

    assert not too_deep(_nested(MAX_DEPTH))
    assert too_deep(_nested(MAX_DEPTH + 1))
    assert too_deep([_nested(MAX_DEPTH)]) and not too_deep([_nested(MAX_DEPTH)], MAX_DEPTH + 1)
    assert too_deep(_nested(5000))
