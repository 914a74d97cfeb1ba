"""Who is calling the LRS and what they may do: xAPI's scope names (xAPI 1.0.3 section 4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The scope names a credential may hold (``POST /v1/lrs/credentials``).
XAPI_SCOPES = frozenset(
    {"statements/write", "statements/read/mine", "statements/read", "state", "define", "profile", "all/read", "all"}
)
# What a Bearer JWT's Learnloop scopes mean in xAPI terms.
BEARER_SCOPES: dict[str, frozenset[str]] = {
    "xapi:read": frozenset({"all/read"}),
    "xapi:write": frozenset({"statements/write", "state", "profile", "define"}),
}
# Each action the resources check, and the scopes that grant it.
_GRANTS: dict[str, frozenset[str]] = {
    "statements/write": frozenset({"statements/write", "all"}),
    "statements/read": frozenset({"statements/read", "all/read", "all"}),
    "statements/read/mine": frozenset({"statements/read/mine", "statements/read", "all/read", "all"}),
    "state/read": frozenset({"state", "all/read", "all"}),
    "state/write": frozenset({"state", "all"}),
    "profile/read": frozenset({"profile", "all/read", "all"}),
    "profile/write": frozenset({"profile", "all"}),
    "define": frozenset({"define", "all"}),
}


@dataclass(frozen=True)
class XapiCaller:
    """An authenticated LRS client.

    ``authority`` is the Agent recorded as the ``authority`` of statements it writes; ``authority_key`` its
    IFI key (``agents.ifi_key``), by which ``statements/read/mine`` finds what it wrote. ``user_id`` is set
    for a Learnloop user (Bearer JWT), ``credential`` for an LRS credential (HTTP Basic)."""

    authority: dict[str, Any]
    authority_key: str
    scopes: frozenset[str]
    user_id: str | None = None
    credential: str | None = None

    def may(self, action: str) -> bool:
        return not self.scopes.isdisjoint(_GRANTS[action])

    @property
    def reads_only_own(self) -> bool:
        """Holds only ``statements/read/mine``: statement reads are limited to what it wrote."""
        return self.may("statements/read/mine") and not self.may("statements/read")
