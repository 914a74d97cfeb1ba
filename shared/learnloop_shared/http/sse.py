"""Server-Sent Events framing shared by the services' live streams (notify's notifications, learn's
feedback stream).

An SSE stream is a sequence of UTF-8 blocks separated by a blank line. Each ``data`` line carries one line
of the payload; a line starting with ``:`` is a comment that clients ignore, which is how a stream stays
alive through proxies that close idle connections.
"""

from __future__ import annotations

from typing import Final

KEEPALIVE_S: Final = 15.0
"""How long a stream may stay silent before it sends :data:`KEEPALIVE`."""
KEEPALIVE: Final = b": keep-alive\n\n"
HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Response headers of every stream: never cached, never buffered by a reverse proxy."""


def retry(ms: int) -> bytes:
    """Tells the client how long to wait before reconnecting."""
    return f"retry: {int(ms)}\n\n".encode()


def sse(event: str, data: str, event_id: str | None = None) -> bytes:
    """One event; a multi-line ``data`` becomes one ``data:`` line per line (the client joins them again)."""
    lines = [f"event: {event}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()
