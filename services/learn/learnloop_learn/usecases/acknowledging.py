"""Recording an acknowledgement: once per recipient where it counts once, with its event (outbox)."""

from __future__ import annotations

import uuid

from learnloop_shared.documents import Doc
from learnloop_shared.events import Envelope, LearningAcknowledged, make_event, utcnow
from learnloop_shared.metrics import ACKNOWLEDGEMENTS
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.acknowledgements import AckIn, Acknowledgement, Outcome, ack_id, rating_outcome
from ..domain.follow_through import confirm_cycle
from ..storage.learning import LearningStore


class Acknowledging:
    """Acknowledging a share: the acknowledgement, the recipient's progress and the event, in one unit of work."""

    def __init__(self, store: LearningStore, outbox: Outbox, topic: str, source: str) -> None:
        self._store = store
        self._outbox = outbox
        self._topic = topic
        self._source = source

    @retry_transient
    async def acknowledge(self, share: Doc, user_id: str, body: AckIn) -> Acknowledgement:
        share_id = share["_id"]
        now = utcnow()
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
                ),
                source=self._source,
                subject=share_id,
            )

        async with self._outbox.transaction() as tx:
            if body.kind == "rated":
                previous = await self._store.set_rating(doc, tx.session)
                outcome = rating_outcome(previous.get("rating") if previous else None, body.rating or 0)
            else:
                await self._store.insert_ack(doc, tx.session)
                outcome = Outcome.created
            if outcome is not Outcome.repeated:
                completed = await self._store.mark_progress(share, user_id, body.kind, now, tx.session, body.rating)
                tx.emit(self._topic, share_id, event(outcome, completed))
        if tx.duplicate:  # the same acknowledgement, recorded before
            outcome = Outcome.repeated
        ACKNOWLEDGEMENTS.add(1, {"kind": body.kind, "outcome": outcome.value})
        return Acknowledgement(
            id=doc["_id"],
            share_id=share_id,
            kind=body.kind,
            rating=body.rating,
            text=body.text,
            outcome=outcome,
            at=now,
        )
