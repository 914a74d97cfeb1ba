"""Forwarding stored statements to the organisation's LRS: the rules, without I/O.

Invariants (the use case and the job keep them; see ``usecases/xapi/forwarding.py``):

- A statement stored while forwarding is enabled carries ``fwd: "pending"`` from the moment it is stored
  (:func:`mark_pending`, an intake ``before_store`` hook), so a crash can never lose it. Statements stored
  before forwarding was enabled carry no marker and are never forwarded.
- The marker is removed only after the remote LRS accepted the statement (200/204, or 409 for a single
  statement it holds already) - so every statement is delivered at least once; a replay after a crash is
  the same statement under the same id, which an LRS accepts (or answers 409) without storing it twice.
- A statement the remote rejects on its own (400/413 for it alone) is parked: ``fwd: "rejected"`` with the
  reason. It is never retried by itself; it no longer blocks the statements after it.
- Anything else (network errors, 5xx, 429, 401/403, 404...) leaves the batch pending and waits
  :func:`backoff_s` before the next attempt (by every replica: the time is stored).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

FIELD = "fwd"
PENDING = "pending"
REJECTED = "rejected"
LRS_ADMIN = "lrs:admin"

# The longest Retry-After honoured (a remote asking for more is asked again after this).
MAX_RETRY_AFTER_S = 3600.0
# Reasons (remote error bodies) are kept this long at most.
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Target:
    """Where statements go: the remote LRS's xAPI base URL, the version spoken to it, statements per request."""

    url: str
    version: str
    batch_size: int


def mark_pending(docs: list[dict[str, Any]]) -> None:
    """``before_store`` hook: every statement document about to be stored is to be forwarded."""
    for doc in docs:
        doc[FIELD] = PENDING


class Outcome(enum.Enum):
    DELIVERED = "delivered"  # the remote has every statement of the request
    SPLIT = "split"  # the remote refused the batch for (some of) its statements: try halves
    REJECTED = "rejected"  # the remote refused this single statement: park it
    RETRY = "retry"  # the remote (or the way to it) is not able to take it now: back off, keep pending


def outcome(status: int, batch_size: int) -> Outcome:
    """What a response status means for a request that carried ``batch_size`` statements.

    409 for a batch can mean one statement of it is held already (a replay) while the others are not stored:
    halves find out. 401/403/404/405 are configuration errors (credentials, URL): retried, never parked,
    so a wrong setting cannot park every statement."""
    if status in (200, 204):
        return Outcome.DELIVERED
    if status == 409:
        return Outcome.DELIVERED if batch_size == 1 else Outcome.SPLIT
    if status in (400, 413):
        return Outcome.REJECTED if batch_size == 1 else Outcome.SPLIT
    return Outcome.RETRY


def backoff_s(failures: int, base_s: float, max_s: float, retry_after_s: float | None = None) -> float:
    """The wait after ``failures`` (>= 1) failed attempts in a row: ``base_s`` doubling, capped at ``max_s``;
    at least the remote's Retry-After (itself capped at :data:`MAX_RETRY_AFTER_S`)."""
    exponent = min(max(failures - 1, 0), 62)
    delay = min(max_s, base_s * 2.0**exponent)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` a ``Retry-After`` header asks for (delta-seconds or an HTTP-date); None if absent
    or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - now).total_seconds())


def reason(status: int | None, body: str) -> str:
    """A short, single-line reason for the state and the logs."""
    text = " ".join(body.split())
    head = f"HTTP {status}" if status is not None else "no response"
    out = f"{head}: {text}" if text else head
    return out[:MAX_REASON_CHARS]


def statements_url(base: str) -> str:
    """``<base>/statements`` (the base is the remote LRS's xAPI root, e.g. ``https://lrs.example/xapi``)."""
    return base.rstrip("/") + "/statements"


def public_endpoint(url: str) -> str:
    """The endpoint as the state shows it: no user info, query or fragment (which may hold credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def forwarded_statement(doc: Mapping[str, Any]) -> Any:
    """What is sent for a stored document: the statement as stored (the remote sets its own ``stored`` and
    ``authority``)."""
    return doc["statement"]
