"""A user's notification preferences and how they apply when a notification is created. Pure."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from learnloop_shared.ids import Id
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MutedTopic = Annotated[str, StringConstraints(min_length=1, max_length=128)]  # share's topic limit


class ChannelKinds(BaseModel):
    """Which kinds a channel carries: every notification kind, named as in ``kind`` (on by default, so
    preferences stored before a kind existed carry it)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    share_delivered: bool = Field(True, alias="share.delivered")
    feedback: bool = True
    reminder: bool = True
    overdue: bool = True
    share_revised: bool = Field(True, alias="share.revised")
    answer: bool = True
    built_on: bool = True

    def allows(self, kind: str) -> bool:
        return bool(getattr(self, kind.replace(".", "_"), True))


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox: ChannelKinds = ChannelKinds()
    webhook: ChannelKinds = ChannelKinds()


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time
    end: time
    timezone: str = Field("UTC", min_length=1, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Preferences(BaseModel):
    """Preferences as stored and shown. Loose on purpose: documents stored before a limit was tightened
    still load; what clients send is checked by :class:`PreferencesIn`."""

    model_config = ConfigDict(extra="forbid")

    channels: Channels = Channels()
    digest_window_s: int | None = Field(None, ge=10, le=7 * 86400, description="Feedback digest window; default 15 min")
    muted_topics: list[str] = Field(default_factory=list)
    muted_shares: list[str] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None


class PreferencesIn(Preferences):
    """The body of ``PUT /v1/me/preferences``, with explicit limits."""

    # At most 500 × 128 + 5,000 × 200 characters: a preferences document stays far below MongoDB's 16 MB.
    muted_topics: list[MutedTopic] = Field(default_factory=list, max_length=500)
    muted_shares: list[Id] = Field(default_factory=list, max_length=5000)


def topic_muted(muted: list[str], topics: list[str] | tuple[str, ...]) -> bool:
    """A share is muted if any of its topics is muted, exactly or under a muted prefix (``kafka.*``)."""
    for topic in topics:
        for m in muted:
            if m == topic or (m.endswith(".*") and topic.startswith(m[:-1])):
                return True
    return False


def hidden_reason(prefs: Preferences, kind: str, share_id: str, topics: list[str] | tuple[str, ...]) -> str | None:
    """Why a notification is kept out of the default inbox view (it is still stored and readable)."""
    if share_id in prefs.muted_shares:
        return "muted share"
    if topic_muted(prefs.muted_topics, topics):
        return "muted topic"
    if not prefs.channels.inbox.allows(kind):
        return "inbox channel off"
    return None


def quiet_until(prefs: Preferences, now: datetime) -> datetime | None:
    """If ``now`` falls in the user's quiet hours, when they end; else None."""
    q = prefs.quiet_hours
    if q is None or q.start == q.end:
        return None
    tz = ZoneInfo(q.timezone)
    local = now.astimezone(tz)
    t = local.time()
    inside = (q.start <= t < q.end) if q.start < q.end else (t >= q.start or t < q.end)
    if not inside:
        return None
    # Seconds count as written: an end of 07:00:30 ends at 07:00:30, not a day later at 07:00.
    end = local.replace(hour=q.end.hour, minute=q.end.minute, second=q.end.second, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)
