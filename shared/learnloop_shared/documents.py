"""The plain-data record type passed between layers.

A ``Doc`` is a dict of plain values (str, int, datetime, lists, dicts) — what a repository stores and
returns. The bulk paths (deliveries into notify and learn, fan-out) build and pass these directly
instead of models: it is what keeps them fast. Only ``storage/`` knows how they are stored.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
