"""The reminder-round job: each pass claims a due round (planned and due, or running with an expired
lease), runs it to its end (``usecases/reminding.py``), and goes on with the next due one.

Safe with any number of replicas: the claim is one atomic ``find_one_and_update``, and a runner moves a
round only while it holds its lease, renewed between checkpoints (every third of the lease). A runner
that dies leaves the lease to expire (``LEARNLOOP_ROUNDS_LEASE_S``); the next claim resumes the round at
its checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from learnloop_shared.events import utcnow

from ..storage.rounds import LeaseLost, RoundStore
from ..usecases.reminding import Reminding

log = logging.getLogger(__name__)
MAX_ROUNDS_PER_PASS = 100


def runner_id() -> str:
    """Names this process in ``lease_owner`` (host and pid help an operator find it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RoundRunner:
    def __init__(self, store: RoundStore, reminding: Reminding, lease_s: float, owner: str | None = None) -> None:
        self._store = store
        self._reminding = reminding
        self._lease_s = lease_s
        self.owner = owner or runner_id()

    async def run_once(self) -> bool:
        """Claim a due round and run it to its end. False if none was due."""
        rnd = await self._store.claim(self.owner, self._lease_s, utcnow())
        if rnd is None:
            return False
        if rnd.get("claims", 1) > 1:
            log.info("round %s: resuming after another runner (claim %d)", rnd["_id"], rnd["claims"])
        try:
            await self._reminding.run(rnd, self.owner)
        except LeaseLost:
            log.info("round %s: no longer ours (taken over, cancelled or ended); stopped", rnd["_id"])
        return True

    async def run_due(self) -> int:
        """One pass of the job: rounds one at a time while any is due (at most ``MAX_ROUNDS_PER_PASS``, so
        many rounds due at once do not each wait for the next poll). Returns how many were run."""
        ran = 0
        while ran < MAX_ROUNDS_PER_PASS and await self.run_once():
            ran += 1
        return ran
