"""Matching attachment parts to the attachments statements declare (xAPI Data 2.4.11, Communication 1.5.2).

- Every declared attachment without ``fileUrl`` needs a part whose ``X-Experience-API-Hash`` is its ``sha2``.
- Every part must be declared by some statement, carry ``X-Experience-API-Hash``, and its content must hash
  to that value (SHA-256/384/512 by length); ``Content-Transfer-Encoding``, when given, must be ``binary``.
- A part is at most :data:`MAX_ATTACHMENT_BYTES`.
- Signed statements are checked here (``signatures``), with their signature part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import XapiError
from .multipart import Part
from .signatures import SIGNATURE_TYPE, signature_attachments, verify_signature

HASH_HEADER = "x-experience-api-hash"
MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024
_HASHES = {64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class AttachmentContent:
    sha2: str
    content: bytes
    content_type: str


def _digest(content: bytes, sha2: str) -> str:
    algo = _HASHES.get(len(sha2))
    if algo is None:
        raise XapiError(f"X-Experience-API-Hash {sha2[:20]!r} is not a SHA-256, SHA-384 or SHA-512 hex digest")
    return algo(content).hexdigest()


def match_parts(statements: Sequence[dict[str, Any]], parts: Sequence[Part]) -> list[AttachmentContent]:
    """The attachment contents to store for ``statements`` sent with attachment ``parts`` (all parts but the
    first of a multipart body; none for a JSON body). Raises :class:`XapiError` (400) per the module rules."""
    declared: dict[str, dict[str, Any]] = {}
    needed: set[str] = set()
    for s in statements:
        for a in s.get("attachments") or ():
            if not isinstance(a, dict) or not isinstance(a.get("sha2"), str):
                continue
            sha2 = a["sha2"].lower()
            declared.setdefault(sha2, a)
            if "fileUrl" not in a:
                needed.add(sha2)
    by_hash: dict[str, AttachmentContent] = {}
    for p in parts:
        sha2 = p.headers.get(HASH_HEADER, "").strip().lower()
        if not sha2:
            raise XapiError("every attachment part needs an X-Experience-API-Hash header")
        cte = p.headers.get("content-transfer-encoding")
        if cte is not None and cte.strip().lower() != "binary":
            raise XapiError("attachment parts must use Content-Transfer-Encoding: binary")
        if sha2 not in declared:
            raise XapiError(f"the attachment part {sha2[:16]}... matches no attachment of the statements")
        if len(p.body) > MAX_ATTACHMENT_BYTES:
            raise XapiError(f"an attachment is larger than {MAX_ATTACHMENT_BYTES} bytes", status=413)
        if _digest(p.body, sha2) != sha2:
            raise XapiError(f"the attachment part {sha2[:16]}... does not hash to its X-Experience-API-Hash")
        ctype = p.content_type or str(declared[sha2].get("contentType", "application/octet-stream"))
        by_hash[sha2] = AttachmentContent(sha2, p.body, ctype)
    missing = needed - by_hash.keys()
    if missing:
        raise XapiError(f"no part for the attachment {sorted(missing)[0][:16]}... (and it has no fileUrl)")
    for s in statements:
        for sig in signature_attachments(s):
            if sig.get("contentType") != SIGNATURE_TYPE:
                raise XapiError(f"a signature attachment's contentType must be {SIGNATURE_TYPE}")
            part = by_hash.get(str(sig.get("sha2", "")).lower())
            if part is None:
                raise XapiError("a signed statement needs its signature as an attachment part")
            verify_signature(s, part.content)
    return list(by_hash.values())
