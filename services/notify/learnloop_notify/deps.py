"""The notify service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import NotifySettings
from .jobs.digests import DigestSender
from .jobs.held import HeldReleaser
from .jobs.webhooks import WebhookDispatcher
from .messaging.notifier import NotifyHandlers
from .storage.digests import DigestStore
from .storage.held import HeldStore
from .storage.inbox import Inbox
from .storage.migrations import rekey_webhooks
from .storage.preferences import PreferenceStore
from .storage.share_states import ShareStates
from .storage.webhooks import WebhookStore
from .usecases.notifier import Notifier
from .usecases.reading import InboxView
from .usecases.sink import NotificationSink


@dataclass(frozen=True)
class NotifyDeps:
    settings: NotifySettings
    inbox: Inbox
    view: InboxView
    prefs: PreferenceStore
    webhooks: WebhookStore
    notifier: Notifier
    on_events: NotifyHandlers
    digest_sender: DigestSender
    dispatcher: WebhookDispatcher
    releaser: HeldReleaser


async def build_deps(rt: Runtime[NotifySettings]) -> NotifyDeps:
    s = rt.settings
    inbox, prefs, webhooks, digests = Inbox(rt.db), PreferenceStore(rt.db), WebhookStore(rt.db), DigestStore(rt.db)
    held, shares = HeldStore(rt.db), ShareStates(rt.db)
    for repo in (inbox, webhooks, digests, held):
        await repo.ensure_indexes()
    await rekey_webhooks(webhooks)
    sink = NotificationSink(inbox, prefs, webhooks, rt.source, held)
    notifier = Notifier(sink, digests, prefs, s.digest_window_s, shares)
    return NotifyDeps(
        settings=s,
        inbox=inbox,
        view=InboxView(inbox, shares),
        prefs=prefs,
        webhooks=webhooks,
        notifier=notifier,
        on_events=NotifyHandlers(notifier),
        digest_sender=DigestSender(digests, sink),
        dispatcher=WebhookDispatcher(webhooks, s, rt.dead_letters),
        releaser=HeldReleaser(held, sink),
    )


Deps = Annotated[NotifyDeps, Depends(service_deps)]
