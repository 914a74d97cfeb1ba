"""Answering a question: the answer and its ``learning.answered`` event (outbox), in one unit of work."""

from __future__ import annotations

import uuid

from learnloop_shared.documents import Doc
from learnloop_shared.events import LearningAnswered, make_event, utcnow
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.questions import Answer, AnswerIn, thread_to_notify
from ..storage.questions import QuestionStore


class TooManyAnswers(Exception):
    """The question has the most answers it may have."""


class Answering:
    def __init__(self, store: QuestionStore, outbox: Outbox, topic: str, source: str) -> None:
        self._store = store
        self._outbox = outbox
        self._topic = topic
        self._source = source

    @retry_transient
    async def answer(self, share: Doc, question: Doc, writer_id: str, body: AnswerIn) -> Answer:
        """Store the answer and emit ``LearningAnswered`` to everyone in the thread but the writer.

        The caller checked that ``writer_id`` may answer. Raises :class:`TooManyAnswers` at the limit.
        """
        async with self._outbox.transaction() as tx:
            if not await self._store.reserve_answer(question["_id"], tx.session):
                raise TooManyAnswers(question["_id"])
            # Stamped once the question is reserved: an answer committed before this one has an earlier
            # (or the same) time, so the thread lists answers in the order their writers were told of them.
            now = utcnow()
            doc: Doc = {
                "_id": str(uuid.uuid4()),
                "question_id": question["_id"],
                "share_id": share["_id"],
                "user_id": writer_id,
                "text": body.text,
                "at": now,
            }
            earlier = await self._store.answerers(question["_id"], tx.session)
            await self._store.insert_answer(doc, tx.session)
            event = LearningAnswered(
                answer_id=doc["_id"],
                question_id=question["_id"],
                share_id=share["_id"],
                author_id=share["author_id"],
                title=share["title"],
                asked_by=question["user_id"],
                answered_by=writer_id,
                text=body.text,
                public=bool(question.get("public")),
                notify=thread_to_notify(question["user_id"], share["author_id"], earlier, writer_id),
                answered_at=now,
            )
            tx.emit(self._topic, share["_id"], make_event(event, source=self._source, subject=share["_id"]))
        return Answer(id=doc["_id"], text=body.text, from_=writer_id, at=now)
