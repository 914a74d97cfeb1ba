"""Following a share through: what completes it, who is pending or overdue, confirm cycles, the round plan.

Pure rules, no I/O. Terms:

- A share's ``revision`` starts at 1 and goes up with every change (``share.revised``). Its
  ``confirm_revision`` is the latest revision that asked recipients to confirm again (``reconfirm``);
  the revisions from one confirm revision up to the next form a *confirm cycle*, named by its first revision.
- A recipient is COMPLETED iff their ``last_completed_revision >= confirm_revision``: a completion at any
  revision of the current cycle counts, one from an earlier cycle does not.
- Otherwise the recipient is ``overdue`` once the share's ``due_at`` has passed, else ``pending``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import TypeAdapter

Requires = Literal["opened", "learned", "applied"]
Status = Literal["pending", "completed", "overdue"]
RoundReason = Literal["scheduled", "overdue", "revised", "manual"]

_COMPLETED_BY: dict[str, frozenset[str]] = {
    "opened": frozenset({"opened", "learned", "applied", "rated", "question"}),
    "learned": frozenset({"learned", "applied"}),
    "applied": frozenset({"applied"}),
}
_DURATION = TypeAdapter(timedelta)


def completes(requires: str, kind: str) -> bool:
    """Whether an acknowledgement of ``kind`` completes a share that ``requires`` it."""
    return kind in _COMPLETED_BY.get(requires, _COMPLETED_BY["learned"])


def confirm_cycle(share: Mapping[str, Any]) -> int:
    """The share's current confirm cycle: the latest revision that asked recipients to confirm again (1
    until one did, also for documents stored before revisions existed)."""
    return int(share.get("confirm_revision") or 1)


def is_completed(last_completed_revision: int | None, confirm_revision: int) -> bool:
    return last_completed_revision is not None and last_completed_revision >= confirm_revision


def progress_after(
    before: Mapping[str, Any] | None,
    requires: str,
    cycle: int,
    revision: int,
    kind: str,
    at: datetime,
    rating: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """A recipient's progress fields after acknowledging ``kind``, and whether this completed the share.

    ``acknowledged`` holds the kinds of the current confirm cycle (it starts again in a new cycle), and
    ``first_at`` when each of them was first acknowledged in that cycle; ``rating`` is the latest rating
    (kept across cycles). A completion appends ``revision`` to ``completed_revisions`` and sets
    ``last_completed_revision`` and ``completed_at``. A recipient already completed for this cycle stays
    as they were.
    """
    old = dict(before or {})
    same_cycle = int(old.get("cycle") or 1) == cycle
    kinds = list(old.get("acknowledged") or []) if same_cycle else []
    first_at = dict(old.get("first_at") or {}) if same_cycle else {}
    if kind not in kinds:
        kinds.append(kind)
    first_at.setdefault(kind, at)
    done_now = completes(requires, kind) and not is_completed(old.get("last_completed_revision"), cycle)
    revisions = list(old.get("completed_revisions") or [])
    fields: dict[str, Any] = {
        "cycle": cycle,
        "acknowledged": kinds,
        "completed_revisions": [*revisions, revision] if done_now else revisions,
        "last_completed_revision": revision if done_now else old.get("last_completed_revision"),
        "completed_at": at if done_now else old.get("completed_at"),
        "first_at": first_at,
    }
    if kind == "rated" and rating is not None:
        fields["rating"] = rating
    return fields, done_now


def status_of(completed: bool, due_at: datetime | None, now: datetime) -> Status:
    if completed:
        return "completed"
    if due_at is not None and now > due_at:
        return "overdue"
    return "pending"


def split_counts(recipients: int, completed: int, due_at: datetime | None, now: datetime) -> dict[str, int]:
    """``completed``, ``pending`` and ``overdue``: disjoint, adding up to ``recipients``."""
    completed = min(completed, recipients)
    open_ = recipients - completed
    late = due_at is not None and now > due_at
    return {"completed": completed, "pending": 0 if late else open_, "overdue": open_ if late else 0}


def ack_cycle_suffix(cycle: int) -> str:
    """Acknowledgement ids of confirm cycle 1 keep their old form; later cycles get ``|c<cycle>``, so
    acknowledging again after a re-confirmation is new."""
    return "" if cycle <= 1 else f"|c{cycle}"


def cycle_start(revisions: Sequence[Mapping[str, Any]], revision: int) -> int:
    """The first revision of the confirm cycle ``revision`` belongs to (revision 1 starts the first)."""
    start = 1
    for r in revisions:
        n = int(r["revision"])
        if n <= revision and r.get("reconfirm", True) and n > start:
            start = n
    return start


def completed_per_revision(
    revisions: Sequence[Mapping[str, Any]], completion_lists: Iterable[tuple[Sequence[int], int]]
) -> dict[int, int]:
    """For each revision r: how many recipients completed at some revision r' with cycle_start(r) ≤ r' ≤ r.

    ``completion_lists``: (a recipient's completed revisions, how many recipients have exactly that list).
    """
    groups = list(completion_lists)
    out: dict[int, int] = {}
    for r in revisions:
        n = int(r["revision"])
        lo = cycle_start(revisions, n)
        out[n] = sum(count for done, count in groups if any(lo <= x <= n for x in done))
    return out


def offsets_of(reminders: Iterable[str]) -> list[int]:
    """Seconds after publication of each ISO 8601 duration (``"P2D"``, ``"PT4H"``); unparsable ones are
    left out (the share service validated them; learn must not fail on one it cannot read)."""
    out: list[int] = []
    for text in reminders:
        try:
            seconds = int(_DURATION.validate_python(text).total_seconds())
        except ValueError:
            continue
        if seconds >= 1:
            out.append(seconds)
    return out


@dataclass(frozen=True)
class Step:
    """One planned round of a share: ``id`` is ``<share_id>|<step>``."""

    id: str
    share_id: str
    reason: RoundReason
    due: datetime
    revision: int


def planned_steps(share: Mapping[str, Any]) -> list[Step]:
    """The scheduled reminders and the overdue notice of a share as it is now (not the revision rounds)."""
    sid, revision = share["_id"], int(share.get("revision", 1))
    steps = [
        Step(f"{sid}|s{off}", sid, "scheduled", share["published_at"] + timedelta(seconds=off), revision)
        for off in sorted(set(share.get("reminder_offsets_s") or ()))
    ]
    if (due := share.get("due_at")) is not None:
        steps.append(Step(f"{sid}|due@{due.isoformat()}", sid, "overdue", due, revision))
    return steps


def revision_step(share_id: str, revision: int, revised_at: datetime) -> Step:
    return Step(f"{share_id}|r{revision}", share_id, "revised", revised_at, revision)


def reminders_sent(started: Iterable[datetime], completed_at: datetime | None, completed: bool) -> int:
    """Reminder rounds (scheduled/manual) that started before the recipient completed the current cycle,
    or all that started if they have not."""
    if not completed or completed_at is None:
        return sum(1 for _ in started)
    return sum(1 for s in started if s < completed_at)
