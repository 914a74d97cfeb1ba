"""Agents and Groups by their Inverse Functional Identifier (IFI): the keys statements are indexed by."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any


def ifi_key(agent: Mapping[str, Any]) -> str | None:
    """One string per IFI (``mbox|mailto:a@b``, ``account|<homePage>|<name>``...), or None for an anonymous
    Group. Two Agents (or identified Groups) are the same when their keys are equal."""
    if "mbox" in agent:
        return f"mbox|{agent['mbox']}"
    if "mbox_sha1sum" in agent:
        return f"mbox_sha1sum|{str(agent['mbox_sha1sum']).lower()}"
    if "openid" in agent:
        return f"openid|{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, Mapping):
        return f"account|{account.get('homePage')}|{account.get('name')}"
    return None


def mbox_sha1sum(mbox: str) -> str:
    """The ``mbox_sha1sum`` of a ``mailto:`` IRI (the hex SHA-1 of the whole IRI)."""
    return hashlib.sha1(mbox.encode()).hexdigest()  # noqa: S324 - the spec's identifier, not a security hash


def agent_keys(agent: Mapping[str, Any]) -> Iterator[str]:
    """The key of an Agent or Group and those of a Group's members (a Group matches its members' filters)."""
    key = ifi_key(agent)
    if key is not None:
        yield key
    members = agent.get("member")
    if isinstance(members, list):
        for m in members:
            if isinstance(m, Mapping):
                k = ifi_key(m)
                if k is not None:
                    yield k
