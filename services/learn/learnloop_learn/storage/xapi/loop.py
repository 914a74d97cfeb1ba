"""What the loop through xAPI reads and marks: statements waiting for the loop in, shares by url, users by
email (learn's directory copy ``dir_users``).

A statement the loop in must still look at carries ``loop_in: "pending"`` and ``loop_in_due`` (a time,
set when it is stored: ``stored`` + the grace period). Whoever takes it (the request that stored it, or the
sweep once it is due) first claims it: ``loop_in_due`` moves to the end of a lease and ``loop_in_claim``
names the taker, in one conditional update, so two takers never work on the same statement at once and a
taker that died leaves it due again when the lease ends. Done, ``loop_in`` holds the outcome
(``recorded: …``, ``refused: …``, ``ignored: …``) and the two other fields are gone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

EMAIL_COLLATION = {"locale": "en", "strength": 2}  # case-insensitive: mbox matching ignores case
PENDING = "pending"


class LoopStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]
        self.shares = db["shares"]
        self.users = db["dir_users"]

    async def ensure_indexes(self) -> None:
        await self.statements.create_index(
            [("loop_in_due", ASCENDING)], name="loop_in_due", partialFilterExpression={"loop_in_due": {"$exists": True}}
        )
        await self.shares.create_index([("url", ASCENDING)], name="share_url", sparse=True)
        await self.users.create_index([("email", ASCENDING)], name="email_ci", collation=EMAIL_COLLATION, sparse=True)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of pending statements whose due time has come, the longest due first."""
        cursor = self.statements.find({"loop_in_due": {"$lte": now}}, {"_id": 1}).sort("loop_in_due", ASCENDING)
        return [d["_id"] async for d in cursor.limit(limit)]

    async def claim(self, ids: Sequence[str], due_by: datetime, until: datetime, claim: str) -> list[Doc]:
        """Claim those of ``ids`` still pending and due by ``due_by`` (one conditional update each), until
        ``until``; returns the documents claimed (by ``claim``)."""
        if not ids:
            return []
        await self.statements.update_many(
            {"_id": {"$in": list(ids)}, "loop_in_due": {"$lte": due_by}},
            {"$set": {"loop_in_due": until, "loop_in_claim": claim}},
        )
        return await self.statements.find({"_id": {"$in": list(ids)}, "loop_in_claim": claim}).to_list(None)

    async def finish(self, outcomes: Mapping[str, str], claim: str) -> None:
        """Record each statement's outcome (only while still claimed by ``claim``): no longer pending."""
        if not outcomes:
            return
        await self.statements.bulk_write(
            [
                UpdateOne(
                    {"_id": sid, "loop_in_claim": claim},
                    {"$set": {"loop_in": outcome}, "$unset": {"loop_in_due": "", "loop_in_claim": ""}},
                )
                for sid, outcome in outcomes.items()
            ],
            ordered=False,
        )

    async def shares_by_urls(self, urls: Collection[str], per_url: int) -> dict[str, list[Doc]]:
        """Shares whose ``url`` is exactly one of ``urls``, by url (at most ``per_url`` each, the newest first)."""
        if not urls:
            return {}
        found: dict[str, list[Doc]] = {}
        cursor = self.shares.find({"url": {"$in": list(urls)}}).sort("published_at", -1).limit(per_url * len(urls))
        async for share in cursor:
            same = found.setdefault(share["url"], [])
            if len(same) < per_url:
                same.append(share)
        return found

    async def users_by_emails(self, emails: Collection[str]) -> dict[str, list[str]]:
        """Ids of users by email (lower-cased), matching ``emails`` without regard to case."""
        if not emails:
            return {}
        found: dict[str, list[str]] = {}
        query = {"email": {"$in": list(emails)}}
        cursor = self.users.find(query, {"email": 1}).collation(EMAIL_COLLATION).limit(2 * len(emails))
        async for user in cursor:
            found.setdefault(str(user["email"]).lower(), []).append(user["_id"])
        return found
