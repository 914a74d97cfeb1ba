"""The notify service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import NotifySettings
from .jobs.digests import DigestSender
from .jobs.webhooks import WebhookDispatcher
from .messaging.notifier import NotifyHandlers
from .storage.digests import DigestStore
from .storage.inbox import Inbox
from .storage.migrations import rekey_webhooks
from .storage.preferences import PreferenceStore
from .storage.webhooks import WebhookStore
from .usecases.notifier import Notifier
from .usecases.sink import NotificationSink


@dataclass(frozen=True)
class NotifyDeps:
    settings: NotifySettings
    inbox: Inbox
    prefs: PreferenceStore
    webhooks: WebhookStore
    notifier: Notifier
    on_events: NotifyHandlers
    digest_sender: DigestSender
    dispatcher: WebhookDispatcher


async def build_deps(rt: Runtime[NotifySettings]) -> NotifyDeps:
    s = rt.settings
    inbox, prefs, webhooks, digests = Inbox(rt.db), PreferenceStore(rt.db), WebhookStore(rt.db), DigestStore(rt.db)
    for repo in (inbox, webhooks, digests):
        await repo.ensure_indexes()
    await rekey_webhooks(webhooks)
    sink = NotificationSink(inbox, prefs, webhooks, rt.source)
    notifier = Notifier(sink, digests, prefs, s.digest_window_s)
    return NotifyDeps(
        settings=s,
        inbox=inbox,
        prefs=prefs,
        webhooks=webhooks,
        notifier=notifier,
        on_events=NotifyHandlers(notifier),
        digest_sender=DigestSender(digests, sink),
        dispatcher=WebhookDispatcher(webhooks, s, rt.dead_letters),
    )


Deps = Annotated[NotifyDeps, Depends(service_deps)]
