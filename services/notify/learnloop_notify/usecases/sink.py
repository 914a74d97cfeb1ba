"""Storing new notifications: apply the recipients' preferences, store in bulk, queue webhooks.

Every notification reaches the store (muted ones are kept, hidden from the default inbox view);
preferences decide visibility and which push channels (webhooks) carry it, and when. A visible
reminder, overdue notice or revision notice (:data:`HELD_IN_QUIET_HOURS`) for a user in quiet hours is
held instead (:mod:`..storage.held`) and stored by :mod:`..jobs.held` when the quiet hours end, with the
same id; hidden ones are stored at once (nothing is pushed for them anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.documents import Doc
from learnloop_shared.events import NotificationCreated, encode, make_event, utcnow
from learnloop_shared.metrics import NOTIFICATIONS_CREATED

from ..domain.notifications import HELD_IN_QUIET_HOURS
from ..domain.preferences import Preferences, hidden_reason, quiet_until
from ..storage.held import HeldStore
from ..storage.inbox import Inbox
from ..storage.preferences import PreferenceStore
from ..storage.webhooks import WebhookStore

DEFAULT = Preferences()


class NotificationSink:
    def __init__(
        self, inbox: Inbox, prefs: PreferenceStore, webhooks: WebhookStore, source: str, held: HeldStore
    ) -> None:
        self._inbox = inbox
        self._prefs = prefs
        self._webhooks = webhooks
        self._source = source
        self._held = held

    async def store(self, docs: Sequence[Doc], hold: bool = True) -> int:
        """Store ``docs`` (ids deterministic: stored once however often this runs); returns how many were
        new in the inbox. ``hold=False`` stores even in quiet hours (releasing held notifications)."""
        if not docs:
            return 0
        prefs = await self._prefs.for_users(d["user_id"] for d in docs)
        for d in docs:
            reason = hidden_reason(prefs.get(d["user_id"], DEFAULT), d["kind"], d["share_id"], d.get("topics", ()))
            if reason:
                d["hidden"], d["hidden_reason"] = True, reason
        kinds = dict.fromkeys(d["kind"] for d in docs)
        if hold and not HELD_IN_QUIET_HOURS.isdisjoint(kinds):  # never on the deliveries path
            docs = await self._hold_quiet(docs, prefs)
        stored = 0
        for kind in kinds:  # one insert per kind (a batch has one, in practice)
            created = await self._inbox.add([d for d in docs if d["kind"] == kind])
            NOTIFICATIONS_CREATED.add(created, {"kind": kind})
            stored += created
        await self._queue_webhooks(docs, prefs)
        return stored

    async def _hold_quiet(self, docs: Sequence[Doc], prefs: dict[str, Preferences]) -> Sequence[Doc]:
        """Hold visible :data:`HELD_IN_QUIET_HOURS` notifications of users now in quiet hours; the rest."""
        now = utcnow()
        quiet = {user: until for user, p in prefs.items() if p.quiet_hours and (until := quiet_until(p, now))}
        if not quiet:
            return docs
        held: list[Doc] = []
        rest: list[Doc] = []
        for d in docs:
            until = quiet.get(d["user_id"])
            if until is not None and d["kind"] in HELD_IN_QUIET_HOURS and not d.get("hidden"):
                held.append({**d, "release_at": until})
            else:
                rest.append(d)
        await self._held.hold(held)
        return rest

    async def _queue_webhooks(self, docs: Sequence[Doc], prefs: dict[str, Preferences]) -> None:
        visible = [d for d in docs if not d.get("hidden")]
        hooks = await self._webhooks.for_owners(d["user_id"] for d in visible) if visible else {}
        if not hooks:
            return
        now = utcnow()
        queued: list[Doc] = []
        for d in visible:
            p = prefs.get(d["user_id"], DEFAULT)
            if not p.channels.webhook.allows(d["kind"]):
                continue
            send_at = quiet_until(p, now) or now
            for hook in hooks.get(d["user_id"], []):
                if d["kind"] not in hook["events"]:
                    continue
                body = encode(
                    make_event(
                        NotificationCreated(
                            notification_id=d["_id"],
                            user_id=d["user_id"],
                            kind=d["kind"],
                            share_id=d["share_id"],
                            title=d["title"],
                            text=d["text"],
                            url=d.get("url"),
                            created_at=d["created_at"],
                        ),
                        source=self._source,
                        subject=d["user_id"],
                        event_id=d["_id"],
                    )
                ).decode()
                queued.append(
                    {
                        "_id": f"{hook['_id']}|{d['_id']}",
                        "webhook_id": hook["_id"],
                        "owner_id": d["user_id"],
                        "notification_id": d["_id"],
                        "event_type": NotificationCreated.event_type,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": send_at,
                        "created_at": now,
                    }
                )
        await self._webhooks.enqueue(queued)
