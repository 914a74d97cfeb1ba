"""Structured (JSON) logging with trace and span ids from OpenTelemetry, when a span is active.

Importing this module (``learnloop_shared`` does) makes ``extra=`` safe for every logger: the standard
library raises ``KeyError`` when an ``extra`` key names a ``LogRecord`` attribute (``created``,
``name``, ``msg``, ...), which turned a log call into a failed event. Such keys are kept, renamed
``extra_<key>``, instead.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}
_RENAMED_PREFIX = "extra_"
_std_make_record = logging.Logger.makeRecord


def _make_record(
    self: logging.Logger,
    name: str,
    level: int,
    fn: str,
    lno: int,
    msg: object,
    args: Any,
    exc_info: Any,
    func: str | None = None,
    extra: Mapping[str, object] | None = None,
    sinfo: str | None = None,
) -> logging.LogRecord:
    """``Logger.makeRecord`` that renames ``extra`` keys clashing with record attributes instead of raising."""
    if extra and any(key in _RESERVED for key in extra):
        extra = {(_RENAMED_PREFIX + key if key in _RESERVED else key): value for key, value in extra.items()}
    return _std_make_record(self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)


# On the class, so that loggers created before this import (any library's) are covered too.
logging.Logger.makeRecord = _make_record  # type: ignore[method-assign]


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            doc["trace_id"] = format(ctx.trace_id, "032x")
            doc["span_id"] = format(ctx.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(service: str, level: str = "INFO", json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "faust", "mode", "pymongo", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
