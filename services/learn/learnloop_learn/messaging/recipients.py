"""Deliveries from Kafka, handed to :mod:`..usecases.recipients` a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.documents import Doc
from learnloop_shared.events import ShareDelivered
from learnloop_shared.kafka.consumers import Received

from ..domain.audience import Delivered
from ..domain.shares import new_share
from ..usecases.recipients import RecordRecipients


class RecipientHandlers:
    def __init__(self, recipients: RecordRecipients) -> None:
        self._recipients = recipients

    async def on_delivered(self, batch: Sequence[Received]) -> None:
        """One event per recipient: the share comes with each delivery, so learn knows it even if its
        ``share.published`` comes later. The Kafka coordinates name the recipient bucket."""
        shares: dict[str, Doc] = {}
        delivered: list[Delivered] = []
        for item in batch:
            d: ShareDelivered = item.event.data
            if d.share_id not in shares:
                shares[d.share_id] = _share_doc(d)
            m = item.message
            delivered.append(Delivered(d.share_id, d.recipient_id, d.published_at, m.partition, m.offset))
        await self._recipients.record(list(shares.values()), delivered)


def _share_doc(d: ShareDelivered) -> Doc:
    """The share as a delivery tells it: stored only if learn does not know the share yet (its
    ``share.published`` then adds the reminders and the knowledge check, which deliveries do not carry:
    a delivery says only whether there is a check)."""
    return new_share(
        d.share_id,
        d.author_id,
        d.title,
        d.url,
        d.topics,
        d.published_at,
        d.requires,
        d.due_at,
        (),
        d.revision,
        has_checks=d.has_checks,
    )
