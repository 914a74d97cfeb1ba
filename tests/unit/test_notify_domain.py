import ipaddress
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from learnloop_notify.domain.digests import digest_text, latest_ratings, next_window, window_start
from learnloop_notify.domain.preferences import Preferences, QuietHours, hidden_reason, quiet_until, topic_muted
from learnloop_notify.domain.webhooks import (
    AddressRefused,
    InvalidWebhookUrl,
    Target,
    WebhookIn,
    allowed_networks,
    backoff_s,
    check_addresses,
    check_scheme,
    embedded_ipv4,
    parse_url,
    refusal,
    sign,
)
from pydantic import ValidationError
from standardwebhooks import Webhook

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_digest_text():
    assert digest_text({"opened": 7, "learned": 4, "applied": 1}, {"a": 4, "b": 5}) == (
        "7 opened, 4 learned, 1 applied, average rating 4.5"
    )
    assert digest_text({"opened": 1}, {}) == "1 opened"
    assert digest_text({"applied": 1, "passed": 3, "learned": 3}, {}) == "3 learned, 3 passed the check, 1 applied"
    assert digest_text({}, {"a": 4}) == "average rating 4"
    assert digest_text({}, {}) == "no new activity"


def test_later_rating_replaces_earlier_in_a_window():
    assert latest_ratings([["bob", 3], ["carol", 5], ["bob", 4]]) == {"bob": 4, "carol": 5}


def test_windows_are_aligned_for_every_worker():
    at = datetime(2026, 1, 1, 12, 7, 31, tzinfo=UTC)
    assert window_start(at, 900) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert next_window(window_start(at, 900), 900) == datetime(2026, 1, 1, 12, 15, tzinfo=UTC)


def test_muting_and_channels_hide_but_keep():
    p = Preferences(muted_topics=["kafka.*"], muted_shares=["s9"])
    assert hidden_reason(p, "share.delivered", "s1", ["kafka.streams"]) == "muted topic"
    assert hidden_reason(p, "share.delivered", "s9", []) == "muted share"
    assert hidden_reason(p, "share.delivered", "s1", ["python"]) is None
    off = Preferences.model_validate({"channels": {"inbox": {"feedback": False}}})
    assert hidden_reason(off, "feedback", "s1", []) == "inbox channel off"
    assert hidden_reason(off, "share.delivered", "s1", []) is None
    assert topic_muted(["kafka"], ["kafka"]) and not topic_muted(["kafka"], ["kafka.streams"])


def test_quiet_hours_across_midnight_in_a_time_zone():
    p = Preferences(quiet_hours=QuietHours(start=time(22), end=time(7), timezone="Europe/Berlin"))
    inside = datetime(2026, 1, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert quiet_until(p, inside) == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)  # 07:00 Berlin
    assert quiet_until(p, datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) is None
    assert quiet_until(Preferences(), inside) is None
    with pytest.raises(ValidationError):
        QuietHours(start=time(22), end=time(7), timezone="Mars/Olympus")


def test_webhook_input_validation():
    ok = WebhookIn(url="https://hooks.example.com/x", events=["feedback"], secret=SECRET)
    assert ok.url.startswith("https://")
    for bad in (
        {"url": "ftp://x", "events": ["feedback"], "secret": SECRET},
        {"url": "http://127.0.0.1:99999/", "events": ["feedback"], "secret": SECRET},
        {"url": "https://user:pw@x.example", "events": ["feedback"], "secret": SECRET},
        {"url": "https://x.example", "events": [], "secret": SECRET},
        {"url": "https://x.example", "events": ["nope"], "secret": SECRET},
        {"url": "https://x.example", "events": ["feedback"], "secret": "not-a-whsec-secret"},
    ):
        with pytest.raises(ValidationError):
            WebhookIn.model_validate(bad)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0"]
)
def test_non_public_addresses_refused(address):
    with pytest.raises(AddressRefused):
        check_addresses([address], [])


@pytest.mark.parametrize(
    "url",
    [
        # The four from issue 10: IPv6 forms of 169.254.169.254 that passed as "global".
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 well-known prefix
        "http://[::a9fe:a9fe]/",  # IPv4-compatible
        "http://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[64:ff9b:1::a9fe:a9fe]/",  # NAT64 local-use prefix
        "http://[64:ff9b::7f00:1]/",  # NAT64 to loopback
        "http://[64:ff9b::a00:1]/",  # NAT64 to 10.0.0.1
        "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
        "http://[::ffff:0:a00:1]/",  # translated 10.0.0.1
        "http://[2001:0:a9fe:a9fe::1]/",  # Teredo, server 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1 (inverted)
        "http://[64:ff9b::e000:1]/",  # NAT64 to multicast 224.0.0.1
    ],
)
def test_ipv6_forms_of_non_public_ipv4_are_refused(url):
    host = parse_url(url).host
    assert refusal(host, []) is not None
    with pytest.raises(AddressRefused):
        check_addresses([host], [])


def test_embedded_ipv4_of_each_form():
    def v4s(a):
        return [str(x) for x in embedded_ipv4(ipaddress.ip_address(a))]

    assert v4s("64:ff9b::a9fe:a9fe") == ["169.254.169.254"]
    assert v4s("64:ff9b:1::a9fe:a9fe") == ["169.254.169.254"]
    assert v4s("::a9fe:a9fe") == ["169.254.169.254"]
    assert v4s("::ffff:a9fe:a9fe") == ["169.254.169.254"]
    assert v4s("::ffff:0:a9fe:a9fe") == ["169.254.169.254"]
    assert v4s("2002:a9fe:a9fe::1") == ["169.254.169.254"]
    assert v4s("2001:0:4136:e378:8000:63bf:f5ff:fffe") == ["65.54.227.120", "10.0.0.1"]
    assert v4s("2606:4700::1111") == [] and v4s("93.184.216.34") == []


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822"],  # public, public v6, NAT64 to a public IPv4
)
def test_public_addresses_pass(address):
    assert refusal(address, []) is None


def test_allowed_networks_are_matched_as_written():
    local = allowed_networks(["127.0.0.0/8", "::1/128"])  # what local mode allows
    assert refusal("127.0.0.1", local) is None and refusal("::1", local) is None
    # Another spelling of loopback is not in those networks: still refused.
    assert refusal("::ffff:127.0.0.1", local) is not None
    assert refusal("64:ff9b::7f00:1", local) is not None
    assert refusal("64:ff9b::7f00:1", allowed_networks(["64:ff9b::/96"])) is None


def test_webhook_urls_are_validated():
    assert parse_url("https://Hooks.Example.com/x?y=1") == Target("https", "hooks.example.com", 443)
    assert parse_url("http://[::1]:8080/") == Target("http", "::1", 8080)
    assert parse_url("http://127.0.0.1:65535/").port == 65535
    assert parse_url("https://bücher.example/").host == "bücher.example"
    for bad, says in (
        ("http://127.0.0.1:99999/", "port"),
        ("http://127.0.0.1:0/", "port"),
        ("http://127.0.0.1:http/", "port"),
        ("http://[::1/", "malformed"),
        ("ftp://x.example/", "http(s)"),
        ("https:///path", "http(s)"),
        ("hooks.example.com/x", "http(s)"),
        ("https://user@x.example/", "credentials"),
        ("https://:pw@x.example/", "credentials"),
        ("https://x.example/a b", "whitespace"),
        ("https://x.example/\n", "whitespace"),
        ("https://exa_mple!.com/", "neither"),
        ("https://" + "a" * 64 + ".example/", "neither"),
        ("https://x.example/" + "a" * 2048, "2048"),
    ):
        with pytest.raises(InvalidWebhookUrl, match=re.escape(says)):
            parse_url(bad)


def test_allowed_networks_and_public_addresses():
    check_addresses(["127.0.0.1"], ["127.0.0.0/8"])
    check_addresses(["93.184.216.34"], [])
    with pytest.raises(AddressRefused):
        check_addresses(["93.184.216.34", "10.0.0.1"], [])  # every resolved address must pass
    with pytest.raises(AddressRefused):
        check_scheme("http://x.example", require_https=True)
    check_scheme("http://x.example", require_https=False)


def test_backoff_is_exponential_and_capped():
    assert [backoff_s(a, 2, 60) for a in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 32, 60]


def test_signature_verifies_with_the_standard_library():
    at = datetime.now(UTC) - timedelta(seconds=1)
    body = '{"specversion":"1.0"}'
    headers = sign(SECRET, "msg_1", at, body)
    assert Webhook(SECRET).verify(body, headers) == {"specversion": "1.0"}
    assert headers["webhook-signature"].startswith("v1,")


def test_preferences_sent_have_limits_stored_ones_still_load():
    import pydantic
    from learnloop_notify.domain.preferences import PreferencesIn

    with pytest.raises(pydantic.ValidationError, match="at most 200 characters"):
        PreferencesIn(muted_shares=["s" * 4096])
    with pytest.raises(pydantic.ValidationError, match="at most 5000 items"):
        PreferencesIn(muted_shares=[f"s{i}" for i in range(5001)])
    assert Preferences.model_validate({"muted_shares": ["s" * 4096]}).muted_shares == ["s" * 4096]
