"""Turn deliveries and learning events into notifications.

Recipients get one notification per delivered share. Authors hear about feedback without spam: a
question reaches them at once with its text, so does the share's first ``learned``; everything else
is counted into a per-share digest sent once per window (see :mod:`..jobs.digests`), and so is each
passed knowledge check (``learning.checked``; failed attempts are not reported).

Follow-through: one ``reminder`` or ``share.revised`` per reminded recipient, one ``overdue`` per
(share, due time) to the author, one ``answer`` per user in the thread, one ``built_on`` per referenced
share to its author. Revisions and retractions update notify's share state (:mod:`..storage.share_states`),
which inbox reads join with.
"""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.documents import Doc
from learnloop_shared.events import (
    Envelope,
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningOverdue,
    LearningReminded,
    ShareBuiltOn,
    ShareDelivered,
    ShareRetracted,
    ShareRevised,
    utcnow,
)

from ..domain.digests import Counted, counted_acknowledgement, counted_check
from ..domain.notifications import (
    first_learner,
    for_answers,
    for_built_on,
    for_delivery,
    for_feedback,
    for_overdue,
    for_reminders,
)
from ..domain.preferences import quiet_until
from ..storage.digests import DigestStore
from ..storage.preferences import PreferenceStore
from ..storage.share_states import ShareStates
from .sink import DEFAULT, NotificationSink


class Notifier:
    def __init__(
        self,
        sink: NotificationSink,
        digests: DigestStore,
        prefs: PreferenceStore,
        window_s: int,
        shares: ShareStates,
    ) -> None:
        self._sink = sink
        self._digests = digests
        self._prefs = prefs
        self._window_s = window_s
        self._shares = shares

    async def delivered(self, events: Sequence[Envelope[ShareDelivered]]) -> None:
        """One notification per delivered share (idempotent: notification ids derive from event ids)."""
        now = utcnow()
        await self._sink.store([for_delivery(event.id, event.data, now) for event in events])

    async def acknowledged(self, events: Sequence[Envelope[LearningAcknowledged]]) -> None:
        """Feedback for authors: stored at once, or counted into a digest (idempotent, as above)."""
        docs: list[Doc] = []
        for event in events:
            doc = await self._feedback(event.id, event.data)
            if doc is not None:
                docs.append(doc)
        await self._sink.store(docs)

    async def _feedback(self, event_id: str, a: LearningAcknowledged) -> Doc | None:
        if a.kind == "question":
            return for_feedback(event_id, a, utcnow())
        if a.kind == "learned" and await self._digests.claim_first_learner(a, event_id):
            return first_learner(event_id, a, utcnow())
        await self._count(counted_acknowledgement(a), event_id)
        return None

    async def checked(self, events: Sequence[Envelope[LearningChecked]]) -> None:
        """Passed knowledge checks are counted into the author's digest (idempotent on the event id);
        the ``learned`` a pass records arrives as its own acknowledgement."""
        for event in events:
            counted = counted_check(event.data)
            if counted is not None:
                await self._count(counted, event.id)

    async def _count(self, counted: Counted, event_id: str) -> None:
        prefs = await self._prefs.get(counted.author_id) if counted.author_id else DEFAULT
        window = prefs.digest_window_s or self._window_s
        await self._digests.add(counted, event_id, window, quiet_until(prefs, utcnow()))

    async def reminded(self, events: Sequence[Envelope[LearningReminded]]) -> None:
        """One notification per (round, recipient), however often a batch arrives."""
        now = utcnow()
        docs = [doc for event in events for doc in for_reminders(event.id, event.data, now)]
        await self._sink.store(docs)

    async def overdue(self, events: Sequence[Envelope[LearningOverdue]]) -> None:
        now = utcnow()
        await self._sink.store([for_overdue(event.id, event.data, now) for event in events])

    async def answered(self, events: Sequence[Envelope[LearningAnswered]]) -> None:
        now = utcnow()
        await self._sink.store([doc for event in events for doc in for_answers(event.id, event.data, now)])

    async def built_on(self, events: Sequence[Envelope[ShareBuiltOn]]) -> None:
        now = utcnow()
        await self._sink.store([for_built_on(event.id, event.data, now) for event in events])

    async def share_revised(self, events: Sequence[Envelope[ShareRevised]]) -> None:
        for event in events:
            await self._shares.revised(event.data)

    async def share_retracted(self, events: Sequence[Envelope[ShareRetracted]]) -> None:
        for event in events:
            await self._shares.retracted(event.data)
