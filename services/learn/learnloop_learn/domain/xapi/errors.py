"""Errors of the xAPI resources: each carries the HTTP status the LRS answers with."""

from __future__ import annotations


class XapiError(Exception):
    """An xAPI request the LRS refuses; ``status`` is the HTTP status, ``str(self)`` says why."""

    status = 400

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        if status is not None:
            self.status = status


class InvalidStatement(XapiError):
    """A statement (or a parameter holding xAPI JSON) that breaks the spec's data rules: 400."""
