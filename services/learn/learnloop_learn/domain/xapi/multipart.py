"""``multipart/mixed`` bodies of statements with attachments (xAPI Data 2.4.11, Communication 1.5.2).

A small strict parser (RFC 2046 framing): the boundary comes from the Content-Type; each part is headers,
a blank line (CRLF CRLF) and its bytes; the body ends with the closing delimiter. Anything else is 400.
(python-multipart only reads form-data; the email package repairs broken input instead of refusing it.)
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import XapiError

MAX_PARTS = 1_001
_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))', re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One part: ``headers`` with lower-case names, ``body`` its bytes as sent."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower-case, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


def boundary_of(content_type: str) -> str:
    m = _BOUNDARY.search(content_type)
    if m is None:
        raise XapiError("multipart/mixed needs a boundary parameter")
    return m.group(1) or m.group(2)


def _headers(raw: bytes, eol: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split(eol):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise XapiError("multipart/mixed: a part header is malformed")
        try:
            headers[name.strip().decode("ascii").lower()] = value.strip().decode("latin-1")
        except UnicodeDecodeError:
            raise XapiError("multipart/mixed: a part header name is not ASCII") from None
    return headers


def parse(body: bytes, content_type: str) -> list[Part]:
    """The parts of a ``multipart/mixed`` body; raises :class:`XapiError` (400) on broken framing.

    Lines end in CRLF (RFC 2046); a body whose first boundary line ends in a bare LF is read with LF
    throughout (some clients, and the ADL conformance suite's fixtures, write files with LF)."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise XapiError("multipart/mixed: no opening boundary")
    after = body[start + len(delimiter) : start + len(delimiter) + 2]
    eol = b"\r\n" if after == b"\r\n" else b"\n"
    if start > 0 and body[start - len(eol) : start] != eol:
        raise XapiError("multipart/mixed: the opening boundary does not start a line")
    parts: list[Part] = []
    pos = start + len(delimiter)
    while True:
        if body[pos : pos + 2] == b"--":
            break
        if body[pos : pos + len(eol)] != eol:
            raise XapiError("multipart/mixed: a boundary line is malformed")
        pos += len(eol)
        end = body.find(eol + delimiter, pos)
        if end < 0:
            raise XapiError("multipart/mixed: the closing boundary is missing")
        chunk = body[pos:end]
        if chunk.startswith(eol):  # a part without headers
            head, content = b"", chunk[len(eol) :]
        else:
            head, sep, content = chunk.partition(eol + eol)
            if not sep:
                raise XapiError("multipart/mixed: a part lacks the blank line after its headers")
        parts.append(Part(_headers(head, eol), content))
        if len(parts) > MAX_PARTS:
            raise XapiError(f"multipart/mixed: more than {MAX_PARTS} parts")
        pos = end + len(eol) + len(delimiter)
    if not parts:
        raise XapiError("multipart/mixed: no parts")
    return parts


def build(parts: Sequence[Part]) -> tuple[bytes, str]:
    """A ``multipart/mixed`` body of ``parts`` and its Content-Type (with a fresh boundary)."""
    boundary = secrets.token_hex(16)
    out = bytearray()
    for p in parts:
        out += f"--{boundary}\r\n".encode()
        for name, value in p.headers.items():
            out += f"{name}: {value}\r\n".encode("latin-1")
        out += b"\r\n" + p.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/mixed; boundary={boundary}"
