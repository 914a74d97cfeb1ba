"""Reports on a share's recipients, per team: what counts, and the median time to learn. Pure, no I/O.

Counts are of the share's current confirm cycle (like ``/progress``): ``opened``, ``learned`` and
``applied`` count recipients who acknowledged that kind in it, ``passed`` those who passed the knowledge
check, ``pending``/``overdue`` as :func:`..follow_through.status_of` says.

Time to learn of a recipient = when they first acknowledged ``learned`` in the cycle (else ``applied``)
minus when learn stored them as a recipient (their audience bucket's ``stored_at``).

The median is exact while a group has at most :data:`EXACT_MEDIAN_MAX` learners; past that its times
go into a fixed log-scale histogram whose bins are :data:`BIN_RATIO` wide, so the median it gives is
within 1% of the exact one and a group's memory stays bounded however many learners it has.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .follow_through import Status, confirm_cycle, is_completed, status_of

EXACT_MEDIAN_MAX = 10_000
BIN_RATIO = 1.02  # a bin's geometric middle is within sqrt(1.02) - 1 < 1% of every value in the bin
SMALLEST_S = 0.001  # shorter times count as 0 (a bin of their own)
_LOG_RATIO = math.log(BIN_RATIO)


class Median:
    """The median of the times added: exact up to :data:`EXACT_MEDIAN_MAX` of them, then ≤ 1% off."""

    __slots__ = ("_bins", "_exact", "_n")

    def __init__(self) -> None:
        self._exact: array[float] | None = array("d")
        self._bins: dict[int, int] = {}
        self._n = 0

    def add(self, seconds: float) -> None:
        self._n += 1
        if self._exact is not None:
            self._exact.append(seconds)
            if len(self._exact) > EXACT_MEDIAN_MAX:
                for s in self._exact:
                    self._bin(s)
                self._exact = None
        else:
            self._bin(seconds)

    def value(self) -> float | None:
        if self._n == 0:
            return None
        lo, hi = (self._n - 1) // 2, self._n // 2
        if self._exact is not None:
            ordered = sorted(self._exact)
            return (ordered[lo] + ordered[hi]) / 2
        return (self._at_rank(lo) + self._at_rank(hi)) / 2

    def _bin(self, seconds: float) -> None:
        k = -1 if seconds < SMALLEST_S else int(math.log(seconds / SMALLEST_S) / _LOG_RATIO)
        self._bins[k] = self._bins.get(k, 0) + 1

    def _at_rank(self, rank: int) -> float:
        seen = 0
        for k in sorted(self._bins):
            seen += self._bins[k]
            if seen > rank:
                return 0.0 if k < 0 else SMALLEST_S * BIN_RATIO ** (k + 0.5)
        raise AssertionError("rank beyond the count")  # pragma: no cover - ranks come from _n


@dataclass(frozen=True)
class Facts:
    """What a report needs of one recipient."""

    status: Status
    opened: bool
    learned: bool
    applied: bool
    passed: bool
    time_to_learn_s: float | None
    first_at: Mapping[str, datetime]  # kinds of the current cycle → when first acknowledged
    rating: int | None
    check_score: float | None


def facts_of(
    progress: Mapping[str, Any] | None, share: Mapping[str, Any], delivered_at: datetime | None, now: datetime
) -> Facts:
    """A recipient's facts from their progress document (None: they acknowledged nothing yet)."""
    p = progress or {}
    cycle = confirm_cycle(share)
    same_cycle = int(p.get("cycle") or 1) == cycle
    kinds = set(p.get("acknowledged") or ()) if same_cycle else set()
    first_at: dict[str, datetime] = dict(p.get("first_at") or {}) if same_cycle else {}
    done = is_completed(p.get("last_completed_revision"), cycle)
    learned_at = first_at.get("learned") or first_at.get("applied")
    ttl = None
    if learned_at is not None and delivered_at is not None:
        ttl = max(0.0, (learned_at - delivered_at).total_seconds())
    best = p.get("check_best")
    return Facts(
        status=status_of(done, share.get("due_at"), now),
        opened="opened" in kinds,
        learned="learned" in kinds,
        applied="applied" in kinds,
        passed=bool(p.get("check_passed")),
        time_to_learn_s=ttl,
        first_at=first_at,
        rating=p.get("rating"),
        check_score=float(best) if best is not None else None,
    )


@dataclass
class Counts:
    recipients: int = 0
    opened: int = 0
    learned: int = 0
    applied: int = 0
    passed: int = 0
    pending: int = 0
    overdue: int = 0
    median: Median = field(default_factory=Median)

    def add(self, f: Facts) -> None:
        self.recipients += 1
        self.opened += f.opened
        self.learned += f.learned
        self.applied += f.applied
        self.passed += f.passed
        self.pending += f.status == "pending"
        self.overdue += f.status == "overdue"
        if f.time_to_learn_s is not None:
            self.median.add(f.time_to_learn_s)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipients": self.recipients,
            "opened": self.opened,
            "learned": self.learned,
            "applied": self.applied,
            "passed": self.passed,
            "pending": self.pending,
            "overdue": self.overdue,
            "median_time_to_learn_s": self.median.value(),
        }


@dataclass
class TeamReport:
    """Counters for a share's recipients, in total and per team.

    ``visible``: the teams whose rows the reader may see (None: all, for the author). A recipient counts
    in the totals iff they belong to a visible team (or always, for the author).
    """

    visible: set[str] | None = None
    totals: Counts = field(default_factory=Counts)
    teams: dict[str, Counts] = field(default_factory=dict)

    def add(self, teams: Iterable[str], f: Facts) -> None:
        shown = [t for t in teams if self.visible is None or t in self.visible]
        if self.visible is not None and not shown:
            return
        self.totals.add(f)
        for t in shown:
            if (c := self.teams.get(t)) is None:
                c = self.teams[t] = Counts()
            c.add(f)

    def rows(self, name_of: Callable[[str], str]) -> list[dict[str, Any]]:
        """One row per team with recipients, sorted by name then id (``name_of(team_id) -> str``)."""
        named = sorted((name_of(t), t) for t in self.teams)
        return [{"team_id": t, "name": name, **self.teams[t].as_dict()} for name, t in named]
