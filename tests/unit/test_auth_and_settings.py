import asyncio

import jwt
import pytest
from learnloop_shared.auth import AuthError, TokenVerifier, ensure_local_secret, issue_token
from learnloop_shared.settings import ServiceSettings, load_settings


def verifier(secret="a-test-secret-that-is-long-enough-for-hs256"):
    return TokenVerifier(ServiceSettings(auth_secret=secret))


def test_issued_token_verifies_with_scopes():
    token = issue_token("a-test-secret-that-is-long-enough-for-hs256", "alice", ["directory:write", "shares:publish"])
    p = asyncio.run(verifier().verify(token))
    assert p.sub == "alice" and p.has("shares:publish") and not p.has("publishers:write")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        issue_token("another-secret-that-is-long-enough-for-hs256", "alice"),
        issue_token("a-test-secret-that-is-long-enough-for-hs256", "alice", ttl_s=-10),
        jwt.encode({"sub": "alice"}, "a-test-secret-that-is-long-enough-for-hs256", algorithm="HS256"),  # no exp
        jwt.encode(
            {"sub": "alice", "exp": 9999999999}, "a-test-secret-that-is-long-enough-for-hs512-" * 2, algorithm="HS512"
        ),
    ],
)
def test_bad_tokens_rejected(token):
    with pytest.raises(AuthError):
        asyncio.run(verifier().verify(token))


def test_local_secret_created_once(tmp_path):
    path = tmp_path / "var" / "auth-secret"
    first = ensure_local_secret(path)
    assert ensure_local_secret(path) == first
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_invalid_settings_exit_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("LEARNLOOP_HTTP_PORT", "not-a-port")
    monkeypatch.setenv("LEARNLOOP_AUTH_SECRET", "x")
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)
    assert "LEARNLOOP_HTTP_PORT" in capsys.readouterr().err


def test_settings_require_a_way_to_check_tokens(monkeypatch, capsys):
    monkeypatch.delenv("LEARNLOOP_AUTH_SECRET", raising=False)
    monkeypatch.delenv("LEARNLOOP_AUTH_SECRET_FILE", raising=False)
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)
    assert "LEARNLOOP_AUTH_SECRET" in capsys.readouterr().err


def test_production_requires_oidc():
    with pytest.raises(ValueError, match="JWKS"):
        ServiceSettings(auth_secret="x", environment="production")
