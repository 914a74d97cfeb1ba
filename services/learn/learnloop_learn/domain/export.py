"""The CSV export of a share's recipients (``/report.csv``): columns and cell rules. Pure, no I/O.

Cells: times in RFC 3339 UTC with milliseconds (``2026-12-01T09:00:00.000Z``), ``teams`` the recipient's
team ids (direct and through nesting) sorted and joined by ``;``, ``check_score`` the best score 0–1,
an empty cell for anything missing. A cell a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``: names and ids come from users.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from .reports import Facts

COLUMNS = (
    "user_id",
    "name",
    "teams",
    "delivered_at",
    "opened_at",
    "learned_at",
    "applied_at",
    "rating",
    "check_score",
    "status",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rfc3339(at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never runs it."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def row(user_id: str, name: str, teams: Iterable[str], delivered_at: datetime | None, f: Facts) -> list[str]:
    cells = [
        user_id,
        name,
        ";".join(sorted(teams)),
        rfc3339(delivered_at),
        rfc3339(f.first_at.get("opened")),
        rfc3339(f.first_at.get("learned")),
        rfc3339(f.first_at.get("applied")),
        "" if f.rating is None else str(f.rating),
        "" if f.check_score is None else repr(f.check_score),
        f.status,
    ]
    return [safe(c) for c in cells]


def lines(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
