"""Reads for a recipient's state of a few shares (``GET /v1/me/learning/state``): a fixed number of queries
for up to :data:`..domain.state.MAX_STATE_SHARES` shares, each answered by an index or by ``_id``."""

from __future__ import annotations

from dataclasses import dataclass, field

from learnloop_shared.mongo import Doc
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.follow_through import confirm_cycle
from ..domain.state import CYCLE_KINDS, cycle_ack_id
from .questions import QuestionStore


@dataclass
class RecipientView:
    """What the state of each share is made of; only shares the user received are in ``shares``."""

    shares: list[Doc]
    progress: dict[str, Doc] = field(default_factory=dict)  # by share id
    cycle_acks: dict[str, list[Doc]] = field(default_factory=dict)  # by share id
    asked: dict[str, dict[int, int]] = field(default_factory=dict)  # share id → cycle → questions


class StateReader:
    def __init__(self, db: AsyncDatabase[Doc], questions: QuestionStore) -> None:
        self.shares = db["shares"]
        self.audience = db["audience"]
        self.progress = db["progress"]
        self.acks = db["acknowledgements"]
        self.questions = questions

    async def view(self, user_id: str, share_ids: list[str]) -> RecipientView:
        """The documents behind the user's state of each share they received, in the order asked."""
        shares = {d["_id"]: d async for d in self.shares.find({"_id": {"$in": share_ids}})}
        received = await self._received(user_id, list(shares.values()))
        view = RecipientView([shares[s] for s in share_ids if s in received])
        if not view.shares:
            return view
        ids = [s["_id"] for s in view.shares]
        progress_ids = [f"{s}|{user_id}" for s in ids]
        view.progress = {d["share_id"]: d async for d in self.progress.find({"_id": {"$in": progress_ids}})}
        ack_ids = [cycle_ack_id(s["_id"], user_id, k, confirm_cycle(s)) for s in view.shares for k in CYCLE_KINDS]
        async for ack in self.acks.find({"_id": {"$in": ack_ids}}):
            view.cycle_acks.setdefault(ack["share_id"], []).append(ack)
        view.asked = await self.questions.questions_asked(user_id, ids)
        return view

    async def _received(self, user_id: str, shares: list[Doc]) -> set[str]:
        """Which of the shares reached the user: one point lookup per share in the recipient index
        (users, delivered_at, share_id), all in one query."""
        if not shares:
            return set()
        lookups = [{"users": user_id, "delivered_at": s["published_at"], "share_id": s["_id"]} for s in shares]
        return {d["share_id"] async for d in self.audience.find({"$or": lookups}, {"share_id": 1})}
