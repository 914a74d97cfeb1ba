"""The loop in: a statement another tool stored records the acknowledgement it stands for.

A statement is marked pending when it is stored (:meth:`LoopIn.mark`, a ``before_store`` hook, so the
mark is in the same write as the statement), taken at once by the request that stored it
(:meth:`LoopIn.after_store`), and otherwise, after a crash or a failure, by the sweep
(``jobs.xapi_loop_in``) once its grace period is over. Either way it is claimed first
(``storage.xapi.loop``), and the acknowledgement goes through :class:`Acknowledging`, the same use case
as ``POST /v1/shares/{id}/acknowledgements``, whose natural keys record opened/learned/applied once per
recipient and confirm cycle: a statement taken twice, or two statements saying the same, count once.

What a statement cannot record is written on it (``loop_in``) and nothing else happens. Voiding a
statement later does not undo the acknowledgement it recorded (acknowledgements are never withdrawn).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc

from ...domain import rules
from ...domain.acknowledgements import AckIn, Outcome
from ...domain.xapi.loop import Candidate, candidate, may_take_in
from ...storage.learning import LearningStore
from ...storage.xapi.loop import PENDING, LoopStore
from ..acknowledging import Acknowledging, CheckNotPassed

log = logging.getLogger(__name__)
MAX_SHARES_PER_URL = 20  # a statement about a url acknowledges at most this many shares with that url


@dataclass(frozen=True)
class LoopInSettings:
    verb_map: Mapping[str, str]
    public_url: str
    home_page: str
    learnloop_key: str  # the authority key of Learnloop's own statements: never taken in
    grace_s: float = 30.0  # a pending statement is the sweep's after this long; also the length of a claim


class LoopIn:
    def __init__(
        self, loop: LoopStore, learning: LearningStore, acknowledging: Acknowledging, settings: LoopInSettings
    ) -> None:
        self._loop = loop
        self._learning = learning
        self._acknowledging = acknowledging
        self._s = settings

    def mark(self, docs: list[Doc]) -> None:
        """``before_store``: mark the statements worth a look (pure; the mark is stored with them)."""
        s = self._s
        grace = timedelta(seconds=s.grace_s)
        for doc in docs:
            if may_take_in(doc, s.verb_map, s.learnloop_key, s.public_url, s.home_page):
                doc["loop_in"] = PENDING
                doc["loop_in_due"] = doc["stored"] + grace

    async def after_store(self, docs: Sequence[Doc]) -> None:
        """``after_store``: take the marked statements now. A failure is logged, not raised (the statements
        are stored): the sweep takes them once their grace period is over."""
        marked = [d for d in docs if d.get("loop_in") == PENDING]
        if not marked:
            return
        try:
            due_by = max(d["loop_in_due"] for d in marked)
            await self.take([d["_id"] for d in marked], due_by)
        except Exception:
            log.exception("xapi loop in: %d statements left for the sweep", len(marked))

    async def due(self, limit: int) -> list[str]:
        """Pending statements whose grace period is over (or whose taker's claim ran out)."""
        return await self._loop.due(utcnow(), limit)

    async def take(self, ids: Sequence[str], due_by: datetime) -> int:
        """Claim those of ``ids`` still pending and due by ``due_by``, take them in, and write each one's
        outcome on it. Returns how many it claimed."""
        now = utcnow()
        claim = uuid.uuid4().hex
        docs = await self._loop.claim(ids, due_by, now + timedelta(seconds=self._s.grace_s), claim)
        await self._loop.finish(await self.outcomes(docs), claim)
        return len(docs)

    async def outcomes(self, docs: Sequence[Doc]) -> dict[str, str]:
        """Record what each stored statement stands for; returns the outcome to write on each. Users by
        email and shares by url are looked up for the whole batch at once."""
        found = {
            d["_id"]: candidate(d["statement"], self._s.verb_map, self._s.public_url, self._s.home_page) for d in docs
        }
        wanted = [c for c in found.values() if c is not None]
        users = await self._loop.users_by_emails({c.email for c in wanted if c.email is not None})
        by_url = await self._loop.shares_by_urls({c.url for c in wanted if c.url is not None}, MAX_SHARES_PER_URL)
        outcomes: dict[str, str] = {}
        for doc in docs:
            c = found[doc["_id"]]
            if c is None:
                outcomes[doc["_id"]] = "ignored: not a Learnloop user's opened, learned or applied on an activity"
                continue
            user_id = c.user_id
            if user_id is None:
                assert c.email is not None
                same = users.get(c.email, [])
                user_id = same[0] if len(same) == 1 else None  # an email two users share names neither
            if user_id is None:
                outcomes[doc["_id"]] = "ignored: the actor is not a Learnloop user"
                continue
            shares = await self._shares(c, by_url)
            if not shares:
                outcomes[doc["_id"]] = "ignored: the object is not a share"
                continue
            results = [await self._acknowledge(share, user_id, c.kind, doc["_id"]) for share in shares]
            outcomes[doc["_id"]] = "; ".join(results)
        return outcomes

    async def _shares(self, c: Candidate, by_url: Mapping[str, list[Doc]]) -> list[Doc]:
        if c.share_id is not None:
            share = await self._learning.share(c.share_id)
            return [share] if share is not None else []
        assert c.url is not None
        return by_url.get(c.url, [])

    async def _acknowledge(self, share: Doc, user_id: str, kind: str, statement_id: str) -> str:
        sid = share["_id"]
        if not await self._learning.is_recipient(share, user_id):
            return f"ignored: {user_id} is not a recipient of share {sid}"
        if rules.is_retracted(share):
            return f"refused: share {sid} was retracted"
        try:
            ack = await self._acknowledging.acknowledge(share, user_id, AckIn(kind=kind), statement_id)  # type: ignore[arg-type]
        except CheckNotPassed:
            return f"refused: {kind} on share {sid} needs its knowledge check passed first"
        if ack.outcome is Outcome.repeated:
            return f"recorded before: {kind} on share {sid}"
        log.info("xapi loop in: %s on share %s by %s from statement %s", kind, sid, user_id, statement_id)
        return f"recorded: {kind} on share {sid}"
