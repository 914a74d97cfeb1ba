"""Knowledge-check attempts and each recipient's check state (the only module that knows how they are stored).

``check_attempts`` documents, one per attempt (``_id`` ``<share>|<user>|a<n>``, see
``domain.checks.attempt_id``)::

    {share_id, user_id, attempt, answers, score, passed, correct, revision, at}

The recipient's check state is on their ``progress`` document (``_id`` ``<share>|<user>``, shared with
:mod:`.learning`): ``check_attempts``, ``check_best``, ``check_passed``, ``check_passed_at``,
``check_correct`` (of the latest attempt). Attempts are counted by a conditional update of that document
inside the attempt's transaction: it only applies while attempts are left and the check is not passed,
and concurrent attempts of one recipient write the same document, so one of them conflicts and runs
again against the other's result — ``check_attempts`` can never pass ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, ids_under
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.checks import CheckTotals, Grade, attempt_id


class CheckStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.attempts = db["check_attempts"]
        self.progress = db["progress"]
        self.acks = db["acknowledgements"]

    async def progress_of(self, share_id: str, user_id: str, session: AsyncClientSession | None = None) -> Doc | None:
        return await self.progress.find_one({"_id": f"{share_id}|{user_id}"}, session=session)

    async def take_attempt(
        self, share_id: str, user_id: str, max_attempts: int, g: Grade, at: datetime, session: AsyncClientSession
    ) -> int | None:
        """Count one attempt graded ``g`` on the recipient's progress: its number, or None when none is
        left or they passed already (nothing written then)."""
        progress_id = f"{share_id}|{user_id}"
        # A recipient who never acknowledged anything has no progress document yet; inserting a bare one
        # here is undone with the transaction if the attempt is refused.
        await self.progress.update_one(
            {"_id": progress_id},
            {"$setOnInsert": {"share_id": share_id, "user_id": user_id}},
            upsert=True,
            session=session,
        )
        after = await self.progress.find_one_and_update(
            {
                "_id": progress_id,
                "check_passed": {"$ne": True},
                "$or": [{"check_attempts": {"$exists": False}}, {"check_attempts": {"$lt": max_attempts}}],
            },
            {
                "$inc": {"check_attempts": 1},
                "$max": {"check_best": g.score},
                "$set": {
                    "check_passed": g.passed,
                    "check_passed_at": at if g.passed else None,
                    "check_correct": list(g.correct),
                },
            },
            projection={"check_attempts": 1},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return None if after is None else int(after["check_attempts"])

    async def insert_attempt(
        self,
        share_id: str,
        user_id: str,
        n: int,
        answers: Sequence[int],
        g: Grade,
        revision: int,
        at: datetime,
        session: AsyncClientSession,
    ) -> str:
        doc: Doc = {
            "_id": attempt_id(share_id, user_id, n),
            "share_id": share_id,
            "user_id": user_id,
            "attempt": n,
            "answers": list(answers),
            "score": g.score,
            "passed": g.passed,
            "correct": list(g.correct),
            "revision": revision,
            "at": at,
        }
        await self.attempts.insert_one(doc, session=session)
        return str(doc["_id"])

    async def ack_exists(self, ack_id: str, session: AsyncClientSession) -> bool:
        return await self.acks.find_one({"_id": ack_id}, {"_id": 1}, session=session) is not None

    async def totals(self, share_id: str, questions: int) -> CheckTotals:
        """Sums over the share's recipients who attempted (one aggregation over the share's progress
        documents, answered by ``_id`` order; the server keeps one running total per question)."""
        group: dict[str, Any] = {
            "_id": None,
            "attempted": {"$sum": 1},
            "passed": {"$sum": {"$cond": [{"$eq": ["$check_passed", True]}, 1, 0]}},
            "attempts": {"$sum": "$check_attempts"},
        }
        for i in range(questions):
            group[f"q{i}"] = {"$sum": {"$cond": [{"$eq": [{"$arrayElemAt": ["$check_correct", i]}, True]}, 1, 0]}}
        pipeline: list[Doc] = [
            {"$match": {"_id": ids_under(share_id), "check_attempts": {"$gte": 1}}},
            {"$group": group},
        ]
        rows = await (await self.progress.aggregate(pipeline)).to_list()
        if not rows:
            return CheckTotals(correct=(0,) * questions)
        r = rows[0]
        return CheckTotals(
            attempted=int(r["attempted"]),
            passed=int(r["passed"]),
            attempts=int(r["attempts"]),
            correct=tuple(int(r[f"q{i}"]) for i in range(questions)),
        )
