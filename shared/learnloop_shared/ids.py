"""The one definition of an id (user, team, share, publisher, notification...) as clients send it.

Ids are opaque to Learnloop but end up in URLs, MongoDB keys and Kafka keys: at most
:data:`MAX_ID_CHARS` characters, no whitespace, no ``/`` and no control characters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import StringConstraints

MAX_ID_CHARS = 200
ID_PATTERN = r"^[^\s/\x00-\x1f\x7f]+$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
"""An id in a request body."""

IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
"""An id in a URL path."""

NAME_PATTERN = r"^[A-Za-z0-9._~-]+$"
NamePath = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=NAME_PATTERN)]
"""A name a caller gives its own resource (a webhook id) in a URL path: URL-unreserved characters only."""
