"""Questions (acknowledgements of kind ``question``) and their answers.

Questions live in the ``acknowledgements`` collection (see :mod:`.learning`); answers in ``answers``, one
document each: ``{_id, question_id, share_id, user_id, text, at}``. A question document counts its answers
in ``answer_count``: the counter is what keeps a question at :data:`MAX_ANSWERS_PER_QUESTION` answers, and
incrementing it inside the answer's transaction makes concurrent answers to one question conflict, so the
answerers read in that transaction are complete (see :meth:`QuestionStore.reserve_answer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from learnloop_shared.mongo import After, Doc, newest_first_after
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.questions import ANSWERS_SHOWN, MAX_ANSWERS_PER_QUESTION


class QuestionStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.acks = db["acknowledgements"]
        self.answers = db["answers"]

    async def ensure_indexes(self) -> None:
        await self.answers.create_index(
            [("question_id", ASCENDING), ("at", ASCENDING), ("_id", ASCENDING)], name="answers_of_question"
        )
        # Partial indexes (kind "question"): the other kinds of acknowledgement, by far the most, are not
        # in them and cost nothing more to insert. A share's questions in page order, so that a page is read
        # off the index without sorting all of the share's questions:
        await self.acks.create_index(
            [("share_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
            name="questions_of_share",
            partialFilterExpression={"kind": "question"},
        )
        # The questions a user asked, per share (``GET /v1/me/learning/state``):
        await self.acks.create_index(
            [("user_id", ASCENDING), ("share_id", ASCENDING)],
            name="questions_by_asker",
            partialFilterExpression={"kind": "question"},
        )

    async def question(self, question_id: str) -> Doc | None:
        return await self.acks.find_one({"_id": question_id, "kind": "question"})

    async def page(self, share_id: str, reader: str | None, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` questions about the share, newest first, strictly after ``after``.

        ``reader`` None: all of them (the author); otherwise the public ones and the reader's own.
        """
        clauses: list[Doc] = [{"share_id": share_id, "kind": "question"}]
        if reader is not None:
            clauses.append({"$or": [{"public": True}, {"user_id": reader}]})
        if after is not None:
            clauses.append(newest_first_after(after, "at"))
        cursor = self.acks.find({"$and": clauses} if len(clauses) > 1 else clauses[0])
        return await cursor.sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()

    async def latest_answers(self, questions: Iterable[Doc]) -> dict[str, list[Doc]]:
        """The latest :data:`ANSWERS_SHOWN` answers of each question that has any, oldest first."""

        async def latest(question_id: str) -> tuple[str, list[Doc]]:
            cursor = self.answers.find({"question_id": question_id})
            docs = await cursor.sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(ANSWERS_SHOWN).to_list()
            return question_id, docs[::-1]

        wanted = [q["_id"] for q in questions if q.get("answer_count")]
        return dict(await asyncio.gather(*(latest(q) for q in wanted)))

    async def questions_asked(self, user_id: str, share_ids: list[str]) -> dict[str, dict[int, int]]:
        """How many questions the user asked about each of the shares, per confirmation cycle (a question
        stored without ``cycle`` was asked in cycle 1). Shares without questions are absent."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": user_id, "share_id": {"$in": share_ids}, "kind": "question"}},
            {"$group": {"_id": {"s": "$share_id", "c": {"$ifNull": ["$cycle", 1]}}, "n": {"$sum": 1}}},
        ]
        asked: dict[str, dict[int, int]] = {}
        async for r in await self.acks.aggregate(pipeline):
            asked.setdefault(r["_id"]["s"], {})[int(r["_id"]["c"])] = int(r["n"])
        return asked

    # --- writes inside a transaction ------------------------------------------------------------
    async def reserve_answer(self, question_id: str, session: AsyncClientSession) -> bool:
        """Count one more answer to the question; False when it has :data:`MAX_ANSWERS_PER_QUESTION` already.

        Two transactions answering the same question both write this document: one of them gets a write
        conflict and is run again (``retry_transient``), after the other committed."""
        below_limit = {
            "$or": [{"answer_count": {"$exists": False}}, {"answer_count": {"$lt": MAX_ANSWERS_PER_QUESTION}}]
        }
        result = await self.acks.update_one(
            {"_id": question_id, **below_limit}, {"$inc": {"answer_count": 1}}, session=session
        )
        return result.matched_count == 1

    async def answerers(self, question_id: str, session: AsyncClientSession) -> list[str]:
        """Who answered the question so far, in the order of their first answer."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"question_id": question_id}},
            {"$group": {"_id": "$user_id", "first": {"$min": "$at"}}},
            {"$sort": {"first": 1, "_id": 1}},
        ]
        rows = await (await self.answers.aggregate(pipeline, session=session)).to_list()
        return [r["_id"] for r in rows]

    async def insert_answer(self, doc: Doc, session: AsyncClientSession) -> None:
        await self.answers.insert_one(doc, session=session)
