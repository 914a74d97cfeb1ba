"""Share requests from other systems (topic ``learnloop.share-requests``), in either CloudEvents mode.

Same validation and audience rules as ``POST /v1/shares``; deduplicated on CloudEvents source + id;
only sources of registered publishers are accepted. Anything else is dead-lettered with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from learnloop_shared.events import Envelope, ShareRequested
from learnloop_shared.events.bindings import decode_kafka
from learnloop_shared.kafka.consumers import RawMessage, Received, Rejected
from pydantic import ValidationError

from ..domain.shares import ShareDraft
from ..storage.publishers import Publishers
from ..usecases.publishing import Dedup, IdempotencyConflict, ShareIntake

log = logging.getLogger(__name__)
ACCEPT = {ShareRequested.event_type: ShareRequested}


def decode_request(msg: RawMessage) -> Envelope[Any]:
    return decode_kafka(msg.key, msg.value, msg.headers, ACCEPT)


def _reason(exc: ValidationError) -> str:
    errs = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return "invalid share request: " + "; ".join(errs)


class ShareRequestHandlers:
    def __init__(self, intake: ShareIntake, publishers: Publishers) -> None:
        self._intake = intake
        self._publishers = publishers

    async def on_requested(self, batch: Sequence[Received]) -> list[Rejected]:
        rejected: list[Rejected] = []
        for item in batch:
            ev = item.event
            if await self._publishers.owner_of(ev.source) is None:
                rejected.append(Rejected(item, f"source {ev.source!r} is not a registered publisher"))
                continue
            data: ShareRequested = ev.data
            try:
                draft = ShareDraft.model_validate(data.model_dump(mode="json", exclude_none=True))
            except ValidationError as exc:
                rejected.append(Rejected(item, _reason(exc)))
                continue
            try:
                accepted = await self._intake.accept(
                    draft, data.author_id, Dedup(request_source=ev.source, request_id=ev.id)
                )
            except IdempotencyConflict:
                rejected.append(Rejected(item, f"event id {ev.id!r} from {ev.source!r} was reused for another share"))
                continue
            log.info(
                "share request accepted",
                extra={
                    "share_id": accepted.share.id,
                    "source": ev.source,
                    "event_id": ev.id,
                    "new_share": accepted.created,
                },
            )
        return rejected
