"""Taking a knowledge check: one attempt, graded and recorded with its event in one unit of work, and — when
it passes — the recipient's ``learned`` acknowledgement, recorded exactly as ``POST …/acknowledgements``
records it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from learnloop_shared.documents import Doc
from learnloop_shared.events import LearningChecked, make_event, stable_event_id, utcnow
from learnloop_shared.metrics import ACKNOWLEDGEMENTS
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.acknowledgements import AckIn
from ..domain.checks import AttemptResult, grade, max_attempts_of, pass_mark_of, refusal
from ..storage.checks import CheckStore
from .acknowledging import Acknowledging

log = logging.getLogger(__name__)


class AttemptRefused(Exception):
    """No attempt is left, or the recipient passed already (``str(exc)`` says which)."""


class Checking:
    def __init__(
        self, store: CheckStore, acknowledging: Acknowledging, outbox: Outbox, topic: str, source: str
    ) -> None:
        self._store = store
        self._acknowledging = acknowledging
        self._outbox = outbox
        self._topic = topic
        self._source = source

    @retry_transient
    async def attempt(self, share: Doc, user_id: str, answers: Sequence[int]) -> AttemptResult:
        """Grade and record an attempt of a recipient at the share's check (``answers`` already validated
        against it: ``domain.checks.answer_errors``). Raises :class:`AttemptRefused` when none is left or
        they passed already; nothing is recorded then.

        One transaction: the attempt counted on the recipient's progress (conditionally, so concurrent
        attempts never exceed the maximum), the attempt document, its ``learning.checked`` event (id
        derived from the attempt's id) and, on a pass, the ``learned`` acknowledgement with its progress
        and ``learning.acknowledged`` event unless the recipient has it for this confirm cycle already.
        """
        share_id, checks = share["_id"], share["checks"]
        max_attempts, revision = max_attempts_of(share), int(share.get("revision", 1))
        g = grade(answers, checks, pass_mark_of(share))
        now = utcnow()
        learned, n = False, 0
        async with self._outbox.transaction() as tx:
            taken = await self._store.take_attempt(share_id, user_id, max_attempts, g, now, tx.session)
            if taken is None:
                progress = await self._store.progress_of(share_id, user_id, tx.session)
                raise AttemptRefused(refusal(progress, max_attempts) or "no attempt is left")
            n = taken
            attempt_id = await self._store.insert_attempt(share_id, user_id, n, answers, g, revision, now, tx.session)
            event = LearningChecked(
                attempt_id=attempt_id,
                share_id=share_id,
                author_id=share["author_id"],
                recipient_id=user_id,
                title=share["title"],
                attempt=n,
                score=g.score,
                passed=g.passed,
                correct=g.correct,
                revision=revision,
                checked_at=now,
            )
            tx.emit(
                self._topic,
                share_id,
                make_event(
                    event,
                    source=self._source,
                    subject=share_id,
                    event_id=stable_event_id("learning.checked", attempt_id),
                    time=now,
                ),
            )
            if g.passed:
                body = AckIn(kind="learned")
                ack = self._acknowledging.new_ack(share, user_id, body, now)
                if not await self._store.ack_exists(ack["_id"], tx.session):
                    await self._acknowledging.record(tx, share, ack, body)
                    learned = True
        if tx.duplicate:  # the attempt's number was taken: its progress and attempts disagree
            log.warning("share %s: attempt %s of %s was stored before", share_id, n, user_id)
            raise AttemptRefused("this attempt was recorded already; try again")
        if learned:
            ACKNOWLEDGEMENTS.add(1, {"kind": "learned", "outcome": "created"})
        return AttemptResult(attempt=n, score=g.score, passed=g.passed, correct=list(g.correct))
