"""A log call can never fail an event: ``extra`` keys that clash with ``LogRecord`` attributes are renamed."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import learnloop_shared  # noqa: F401  (installs the safe record factory)
from learnloop_shared.logging import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def test_reserved_extra_keys_are_renamed_not_raised(caplog):
    log = logging.getLogger("learnloop.test.reserved")
    with caplog.at_level(logging.INFO):
        log.info("accepted", extra={"created": True, "name": "n", "message": "m", "share_id": "s"})
    [record] = [r for r in caplog.records if r.name == "learnloop.test.reserved"]
    doc = json.loads(JsonFormatter("t").format(record))
    assert doc["extra_created"] is True and doc["extra_name"] == "n" and doc["extra_message"] == "m"
    assert doc["share_id"] == "s" and doc["logger"] == "learnloop.test.reserved" and doc["msg"] == "accepted"


def test_no_log_call_passes_a_reserved_extra_key():
    offenders = []
    for path in [*ROOT.glob("services/*/learnloop_*/**/*.py"), *ROOT.glob("shared/learnloop_shared/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                    keys = {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {k}" for k in keys & RESERVED]
    assert offenders == []
