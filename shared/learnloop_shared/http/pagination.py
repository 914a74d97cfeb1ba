"""Opaque cursors for ``{ "items": [...], "next_cursor": ... }`` lists, newest first.

A cursor names the last item returned by its sort key (time, id), so pages stay stable while new
items arrive at the top. A cursor is client input: anything this module did not issue — not base64
JSON of ``[time, id]``, a time outside :data:`CURSOR_RANGE` (where BSON dates, UTC conversion and date
arithmetic overflow), an id longer than ids can be — is a 422 "invalid cursor", never a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from ..ids import MAX_ID_CHARS
from .problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(at: datetime, id_: str) -> str:
    raw = json.dumps([at.isoformat(), id_]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Items are stamped with the time they were stored; a cursor outside these years was never issued.
CURSOR_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC))
MAX_CURSOR_CHARS = 1000


Cursor = Annotated[
    str | None, Query(min_length=1, max_length=MAX_CURSOR_CHARS, description="`next_cursor` of the previous page")
]
"""The ``cursor`` query parameter of every list."""


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (aware UTC time, id) a cursor names; :class:`Problem` 422 for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        at, id_ = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(at, str) or not isinstance(id_, str) or not 0 < len(id_) <= MAX_ID_CHARS:
            raise ValueError("not [time, id]")
        when = datetime.fromisoformat(at)
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        if not CURSOR_RANGE[0] <= when < CURSOR_RANGE[1] or "\x00" in id_:
            raise ValueError("out of range")
        return when, id_
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise Problem(422, "invalid cursor") from exc


def position(cursor: str | None) -> tuple[datetime, str] | None:
    """Where the page after ``cursor`` starts (None: the first page); :class:`Problem` 422 for a bad cursor."""
    return decode_cursor(cursor) if cursor else None


def page_from(
    docs: list[dict[str, Any]], limit: int, to_item: Callable[[dict[str, Any]], T], time_field: str
) -> Page[T]:
    """A page from up to ``limit + 1`` documents (newest first); the extra one only says there is more."""
    items = [to_item(d) for d in docs[:limit]]
    last = docs[limit - 1] if len(docs) > limit else None
    return Page[T](items=items, next_cursor=encode_cursor(last[time_field], last["_id"]) if last else None)
