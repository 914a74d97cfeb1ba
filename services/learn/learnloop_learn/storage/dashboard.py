"""Reads for the author's dashboard: the author's shares newest first, and how many recipients passed a
share's knowledge check.

The index ``shares_of_author`` (author_id, published_at desc, _id desc) serves the list page by page
without sorting all of an author's shares.
"""

from __future__ import annotations

from learnloop_shared.mongo import After, Doc, ids_under, newest_first_after
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase


class AuthorShares:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.shares = db["shares"]
        self.progress = db["progress"]

    async def ensure_indexes(self) -> None:
        await self.shares.create_index(
            [("author_id", ASCENDING), ("published_at", DESCENDING), ("_id", DESCENDING)], name="shares_of_author"
        )

    async def page(self, author_id: str, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` shares by the author, newest first (published_at, then id), strictly after ``after``."""
        query: Doc = {"author_id": author_id, **newest_first_after(after, "published_at")}
        sort = [("published_at", DESCENDING), ("_id", DESCENDING)]
        return await self.shares.find(query).sort(sort).limit(limit).to_list()

    async def passed_count(self, share_id: str) -> int:
        """Recipients who passed the share's knowledge check (``check_passed`` on their progress)."""
        query = {"_id": ids_under(share_id), "check_passed": True}
        return await self.progress.count_documents(query)
