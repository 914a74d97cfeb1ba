"""Opaque cursors for ``{ "items": [...], "next_cursor": ... }`` lists, newest first.

A cursor names the last item returned by its sort key (time, id), so pages stay stable while new
items arrive at the top.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(at: datetime, id_: str) -> str:
    raw = json.dumps([at.isoformat(), id_]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, id_ = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), str(id_)
    except (ValueError, TypeError) as exc:
        raise Problem(422, "invalid cursor") from exc


def newest_first_filter(cursor: str | None, time_field: str, id_field: str = "_id") -> dict[str, Any]:
    """The MongoDB filter for items strictly after ``cursor`` in (time desc, id desc) order."""
    if not cursor:
        return {}
    at, id_ = decode_cursor(cursor)
    return {"$or": [{time_field: {"$lt": at}}, {time_field: at, id_field: {"$lt": id_}}]}


def page_from(
    docs: list[dict[str, Any]], limit: int, to_item: Callable[[dict[str, Any]], T], time_field: str
) -> Page[T]:
    """A page from up to ``limit + 1`` documents (newest first); the extra one only says there is more."""
    items = [to_item(d) for d in docs[:limit]]
    last = docs[limit - 1] if len(docs) > limit else None
    return Page[T](items=items, next_cursor=encode_cursor(last[time_field], last["_id"]) if last else None)
