"""The notify service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import NotifySettings
from .messaging.notifier import Notifier
from .storage.inbox import Inbox


@dataclass(frozen=True)
class NotifyDeps:
    inbox: Inbox
    notifier: Notifier


async def build_deps(rt: Runtime[NotifySettings]) -> NotifyDeps:
    inbox = Inbox(rt.db)
    await inbox.ensure_indexes()
    return NotifyDeps(inbox=inbox, notifier=Notifier(inbox))


Deps = Annotated[NotifyDeps, Depends(service_deps)]
