"""Recording an acknowledgement: once per recipient where it counts once, with its event (outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime

from learnloop_shared.documents import Doc
from learnloop_shared.events import Envelope, LearningAcknowledged, make_event, utcnow
from learnloop_shared.metrics import ACKNOWLEDGEMENTS
from learnloop_shared.outbox import Outbox, UnitOfWork, retry_transient

from ..domain.acknowledgements import AckIn, Acknowledgement, Outcome, ack_id, rating_outcome
from ..domain.checks import has_checks, learned_needs_pass
from ..domain.follow_through import confirm_cycle
from ..storage.checks import CheckStore
from ..storage.learning import LearningStore


class CheckNotPassed(Exception):
    """``learned`` on a share with a knowledge check the recipient has not passed."""


class Acknowledging:
    """Acknowledging a share: the acknowledgement, the recipient's progress and the event, in one unit of work."""

    def __init__(self, store: LearningStore, checks: CheckStore, outbox: Outbox, topic: str, source: str) -> None:
        self._store = store
        self._checks = checks
        self._outbox = outbox
        self._topic = topic
        self._source = source

    @retry_transient
    async def acknowledge(
        self, share: Doc, user_id: str, body: AckIn, statement_id: str | None = None
    ) -> Acknowledgement:
        """Raises :class:`CheckNotPassed` for ``learned`` while the share's knowledge check is not passed
        (read in the same transaction as the write). ``statement_id``: the xAPI statement it came from
        (the loop in), kept on the acknowledgement and its event."""
        now = utcnow()
        doc = self.new_ack(share, user_id, body, now)
        if statement_id is not None:
            doc["statement_id"] = statement_id
        async with self._outbox.transaction() as tx:
            if body.kind == "learned" and has_checks(share):  # no extra read for shares without a check
                progress = await self._checks.progress_of(share["_id"], user_id, tx.session)
                if learned_needs_pass(share, progress):
                    raise CheckNotPassed(share["_id"])
            outcome = await self.record(tx, share, doc, body)
        if tx.duplicate:  # the same acknowledgement, recorded before
            outcome = Outcome.repeated
        ACKNOWLEDGEMENTS.add(1, {"kind": body.kind, "outcome": outcome.value})
        return Acknowledgement(
            id=doc["_id"],
            share_id=share["_id"],
            kind=body.kind,
            rating=body.rating,
            text=body.text,
            outcome=outcome,
            at=now,
        )

    @staticmethod
    def new_ack(share: Doc, user_id: str, body: AckIn, now: datetime) -> Doc:
        """The acknowledgement document: its id follows ``domain.acknowledgements.ack_id``."""
        share_id = share["_id"]
        cycle, revision = confirm_cycle(share), int(share.get("revision", 1))
        doc: Doc = {
            "_id": ack_id(share_id, user_id, body.kind, str(uuid.uuid4()), cycle),
            "share_id": share_id,
            "user_id": user_id,
            "kind": body.kind,
            "rating": body.rating,
            "text": body.text,
            "at": now,
            "revision": revision,  # the share's revision when acknowledged
            "cycle": cycle,  # the confirm cycle it counts for
        }
        if body.kind == "question":
            doc["public"] = body.public
        return doc

    async def record(self, tx: UnitOfWork, share: Doc, doc: Doc, body: AckIn) -> Outcome:
        """Record the acknowledgement (:meth:`new_ack`) inside the caller's unit of work: the document, the
        recipient's progress and its ``learning.acknowledged`` event. A once-per-cycle kind recorded before
        makes the unit of work a duplicate (``tx.duplicate``): callers that must not lose their other
        writes check first."""
        share_id, user_id, now, revision = doc["share_id"], doc["user_id"], doc["at"], doc["revision"]

        def event(outcome: Outcome, completed: bool) -> Envelope[LearningAcknowledged]:
            return make_event(
                LearningAcknowledged(
                    acknowledgement_id=doc["_id"],
                    share_id=share_id,
                    author_id=share["author_id"],
                    recipient_id=user_id,
                    title=share["title"],
                    kind=body.kind,
                    rating=body.rating,
                    text=body.text,
                    replaced=outcome is Outcome.replaced,
                    acknowledged_at=now,
                    revision=revision,
                    public=body.public,
                    completed=completed,
                    statement_id=doc.get("statement_id"),
                ),
                source=self._source,
                subject=share_id,
            )

        if body.kind == "rated":
            previous = await self._store.set_rating(doc, tx.session)
            outcome = rating_outcome(previous.get("rating") if previous else None, body.rating or 0)
        else:
            await self._store.insert_ack(doc, tx.session)
            outcome = Outcome.created
        if outcome is not Outcome.repeated:
            completed = await self._store.mark_progress(share, user_id, body.kind, now, tx.session, body.rating)
            tx.emit(self._topic, share_id, event(outcome, completed))
        return outcome
