"""The directory-republish job: each pass claims a waiting job (or a running one whose runner died) and
runs it to its end (``usecases/republishing.py``).

Safe with any number of replicas: the claim is one atomic ``find_one_and_update``, a runner moves a job
only while it holds its lease (renewed every third of ``LEARNLOOP_REPUBLISH_LEASE_S``), and each batch
commits only from the checkpoint its runner read. A runner that dies leaves the lease to expire; the
next claim resumes from the checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from learnloop_shared.events import utcnow

from ..storage.republish import LeaseLost, RepublishStore
from ..usecases.republishing import Republishing

log = logging.getLogger(__name__)
MAX_JOBS_PER_PASS = 10


def runner_id() -> str:
    """Names this process in ``lease_owner`` (host and pid help an operator find it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RepublishRunner:
    def __init__(self, store: RepublishStore, republishing: Republishing, lease_s: float, owner: str | None = None):
        self._store = store
        self._republishing = republishing
        self._lease_s = lease_s
        self.owner = owner or runner_id()

    async def run_once(self) -> bool:
        """Claim a job and run it to its end. False if there was none to claim."""
        job = await self._store.claim(self.owner, self._lease_s, utcnow())
        if job is None:
            return False
        if job.get("claims", 1) > 1:
            log.info("directory republish %s: resuming after another runner (claim %d)", job["_id"], job["claims"])
        try:
            done = await self._republishing.run(job, self.owner)
        except LeaseLost:
            log.info("directory republish %s: no longer ours (taken over); stopped", job["_id"])
            return True
        log.info(
            "directory republished",
            extra={"job_id": job["_id"], "users": done.get("sent_users"), "teams": done.get("sent_teams")},
        )
        return True

    async def run_due(self) -> int:
        """One pass of the job: jobs one at a time while any can be claimed."""
        ran = 0
        while ran < MAX_JOBS_PER_PASS and await self.run_once():
            ran += 1
        return ran
