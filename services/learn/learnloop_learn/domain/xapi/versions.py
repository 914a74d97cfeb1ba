"""The xAPI versions this LRS speaks, chosen per request by ``X-Experience-API-Version``."""

from __future__ import annotations

import re

from .errors import XapiError

HEADER = "X-Experience-API-Version"
V103 = "1.0.3"
V200 = "2.0.0"
SUPPORTED = (V103, V200)
LATEST = V200
_V1 = re.compile(r"^1\.0(\.\d+)?$")
_V2 = re.compile(r"^2\.0(\.\d+)?$")


def negotiate(header: str | None) -> str:
    """The version a request speaks: ``1.0``/``1.0.x`` -> 1.0.3, ``2.0``/``2.0.x`` -> 2.0.0.

    Raises :class:`XapiError` (400) without the header or for a version this LRS does not speak."""
    if header is None or not header.strip():
        raise XapiError(f"the {HEADER} header is required")
    value = header.strip()
    if _V1.match(value):
        return V103
    if _V2.match(value):
        return V200
    raise XapiError(f"{HEADER} {value!r} is not supported (supported: {', '.join(SUPPORTED)})")
