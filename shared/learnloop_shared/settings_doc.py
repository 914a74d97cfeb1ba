"""The settings reference and topic table, generated from the settings classes so they cannot drift.

    python -m learnloop_shared.settings_doc                  # print the markdown
    python -m learnloop_shared.settings_doc --write README.md  # replace the block between the markers
    python -m learnloop_shared.settings_doc --check README.md  # exit 1 if the block is out of date

A unit test runs the check, so a new or changed setting fails the test suite until the README is regenerated.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

START = "<!-- settings-reference:start — generated: python -m learnloop_shared.settings_doc --write README.md -->"
END = "<!-- settings-reference:end -->"

# (heading, "module:Class"); service classes list only what they add to or change in ServiceSettings.
CLASSES: tuple[tuple[str, str], ...] = (
    ("Every service (`LEARNLOOP_*`)", "learnloop_shared.settings:ServiceSettings"),
    ("share", "learnloop_share.config:ShareSettings"),
    ("learn", "learnloop_learn.config:LearnSettings"),
    ("notify", "learnloop_notify.config:NotifySettings"),
    ("OpenTelemetry (`OTEL_*`, standard names)", "learnloop_shared.telemetry:TelemetrySettings"),
)
# Who reads each topic (by the Topics field name); the names and partition counts come from the settings.
READERS = {
    "shares": "share worker (fan-out), learn worker, notify worker",
    "deliveries": "notify worker, learn worker",
    "acknowledgements": "notify worker, learn worker (xAPI loop out)",
    "directory": "learn worker (its copy of users, teams and managers)",
    "share_requests": "share worker",
    "dead_letters": "— (operators, replay tooling)",
}


def _load(path: str) -> type[BaseModel]:
    module, name = path.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, BaseModel)
    return cls


def _type(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        inner = [a for a in args if a is not NoneType]
        return " \\| ".join(_type(a) for a in inner) + (" (optional)" if NoneType in args else "")
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (tuple, list):
        return f"list of {_type(args[0])} (JSON)" if args else "list (JSON)"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return " \\| ".join(f"`{m.value}`" for m in annotation)
        if annotation is SecretStr:
            return "secret"
        if issubclass(annotation, Path):
            return "path"
        return annotation.__name__
    return str(annotation)


def _bounds(field: FieldInfo) -> str:
    marks = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    parts = []
    for meta in field.metadata:
        for attr, sign in marks.items():
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return f" ({', '.join(parts)})" if parts else ""


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return None if field.default is PydanticUndefined else field.default


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, tuple | list):
        if not value:
            return "`[]`"
        value = ",".join(str(v) for v in value)
    return f"`{value}`" if str(value) != "" else '`""`'


def _rows(cls: type[BaseModel], prefix: str, base: type[BaseModel] | None) -> list[str]:
    rows = []
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            default = _default(field)
            for sub, subfield in annotation.model_fields.items():
                value = getattr(default, sub) if default is not None else _default(subfield)
                variable = f"{prefix}{name}__{sub}".upper()
                rows.append(_row(variable, subfield, value, base, name, sub))
            continue
        rows.append(_row(f"{prefix}{name}".upper(), field, _default(field), base, name))
    return [r for r in rows if r]


def _row(variable: str, field: FieldInfo, value: Any, base: type[BaseModel] | None, *path: str) -> str:
    description = (field.description or "").replace("|", "\\|").replace("\n", " ")
    if base is not None:
        inherited = base.model_fields.get(path[0])
        if inherited is not None:
            before = _default(inherited)
            if len(path) == 2:
                before = getattr(before, path[1], None)
            if _show(before) == _show(value):
                return ""  # unchanged from ServiceSettings: documented there
            description = description or inherited.description or ""
    return f"| `{variable}` | {_type(field.annotation)}{_bounds(field)} | {_show(value)} | {description} |"


def _topics() -> list[str]:
    from .settings import Partitions, Topics

    topics, partitions = Topics(), Partitions()
    lines = ["| topic (setting) | default name | partitions | read by |", "|---|---|---|---|"]
    for name, field in Topics.model_fields.items():
        lines.append(
            f"| `LEARNLOOP_TOPICS__{name.upper()}` — {field.description} | `{getattr(topics, name)}` "
            f"| {getattr(partitions, name)} (`LEARNLOOP_PARTITIONS__{name.upper()}`) | {READERS.get(name, '')} |"
        )
    return lines


def render() -> str:
    out = ["#### Topics and partitions", "", *_topics(), ""]
    base = _load(CLASSES[0][1])
    for heading, path in CLASSES:
        cls = _load(path)
        prefix = str(cls.model_config.get("env_prefix", ""))
        rows = _rows(cls, prefix, None if cls is base or not issubclass(cls, base) else base)
        out += [f"#### {heading}", ""]
        if cls is not base and issubclass(cls, base):
            out += ["Only what differs from or adds to the settings of every service.", ""]
        out += ["| variable | type | default | description |", "|---|---|---|---|", *rows, ""]
    return "\n".join(out).rstrip() + "\n"


def replace_block(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"the markers are missing:\n{START}\n{END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m learnloop_shared.settings_doc", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="README", help="replace the generated block in this file")
    group.add_argument("--check", type=Path, metavar="README", help="exit 1 if the block in this file is stale")
    args = parser.parse_args(argv)
    block = render()
    if args.write:
        args.write.write_text(replace_block(args.write.read_text(), block))
    elif args.check:
        text = args.check.read_text()
        if replace_block(text, block) != text:
            fix = f"python -m learnloop_shared.settings_doc --write {args.check}"
            sys.stderr.write(f"{args.check} is out of date: run {fix}\n")
            return 1
    else:
        sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
