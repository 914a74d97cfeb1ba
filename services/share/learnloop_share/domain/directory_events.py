"""The directory as events (topic ``learnloop.directory``): what other services' copies are built from.

Pure: a stored user or team document in, event payloads out. A team's members come in parts of at most
:data:`MEMBERS_PER_PART` (in stored order), at least one part even for a team without members; every
part repeats the name, nested teams and managers, and all carry the team's ``version``.
"""

from __future__ import annotations

from datetime import datetime

from learnloop_shared.documents import Doc
from learnloop_shared.events import DirectoryTeamChanged, DirectoryUserChanged
from learnloop_shared.events.contracts import MAX_MEMBERS_PER_TEAM_EVENT

MEMBERS_PER_PART = MAX_MEMBERS_PER_TEAM_EVENT


def version_of(doc: Doc) -> int:
    """A document from before versions counts as version 1 (see ``Directory.stamp_versions``)."""
    return max(1, int(doc.get("version") or 1))


def user_changed(doc: Doc, at: datetime | None = None) -> DirectoryUserChanged:
    return DirectoryUserChanged(
        user_id=doc["_id"],
        name=doc["name"],
        email=doc.get("email"),
        version=version_of(doc),
        changed_at=at or doc["updated_at"],
    )


def team_changed(doc: Doc, at: datetime | None = None) -> list[DirectoryTeamChanged]:
    members: list[str] = doc.get("members", [])
    parts = max(1, -(-len(members) // MEMBERS_PER_PART))
    return [
        DirectoryTeamChanged(
            team_id=doc["_id"],
            name=doc["name"],
            teams=tuple(doc.get("teams", [])),
            managers=tuple(doc.get("managers", [])),
            members=tuple(members[part * MEMBERS_PER_PART : (part + 1) * MEMBERS_PER_PART]),
            members_total=len(members),
            part=part,
            parts=parts,
            version=version_of(doc),
            changed_at=at or doc["updated_at"],
        )
        for part in range(parts)
    ]
