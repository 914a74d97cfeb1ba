"""Signed statements (xAPI Data 2.6): a signature attachment holds a compact JWS of the statement.

The LRS refuses (400) a signed statement when the JWS is malformed, uses an algorithm other than
RS256/RS384/RS512, fails verification against the public key of its ``x5c`` certificate (when present), or
its payload does not match the statement (Statement comparison, with the signature attachment left out and
what the LRS sets ignored).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography import x509

from .compare import same_statement
from .errors import XapiError

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_TYPE = "application/octet-stream"
ALGORITHMS = ("RS256", "RS384", "RS512")


def signature_attachments(statement: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        a for a in statement.get("attachments") or () if isinstance(a, dict) and a.get("usageType") == SIGNATURE_USAGE
    ]


def without_signatures(statement: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(statement)
    rest = [a for a in statement.get("attachments") or () if a not in signature_attachments(statement)]
    if rest:
        out["attachments"] = rest
    else:
        out.pop("attachments", None)
    return out


def verify_signature(statement: Mapping[str, Any], jws: bytes) -> None:
    """Raise :class:`XapiError` (400) unless ``jws`` is a valid signature of ``statement`` (module docstring)."""
    try:
        token = jws.decode("ascii").strip()
        header = jwt.get_unverified_header(token)
    except (UnicodeDecodeError, jwt.PyJWTError):
        raise XapiError("the signature is not a compact JWS") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise XapiError(f"the signature's algorithm must be one of {', '.join(ALGORITHMS)}")
    jws_api = jwt.PyJWS()
    try:
        chain = header.get("x5c")
        if chain is not None:
            if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
                raise XapiError("the signature's x5c header is malformed")
            cert = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
            payload = jws_api.decode_complete(token, cert.public_key(), algorithms=[alg])["payload"]  # type: ignore[arg-type]
        else:
            payload = jws_api.decode_complete(token, options={"verify_signature": False})["payload"]
    except (jwt.PyJWTError, ValueError, binascii.Error, TypeError):
        raise XapiError("the signature does not verify") from None
    try:
        original = json.loads(payload)
    except ValueError:
        raise XapiError("the signature's payload is not a statement") from None
    if not isinstance(original, dict):
        raise XapiError("the signature's payload is not a statement")
    if not same_statement(without_signatures(original), without_signatures(statement)):
        raise XapiError("the signature's payload differs from the statement")
