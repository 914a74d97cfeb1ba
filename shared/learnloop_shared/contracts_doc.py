"""The published contracts, generated from the code and committed under ``docs/``:

- ``docs/events/<type>.json``: JSON Schema of each event type's ``data`` (``$id`` = its ``dataschema`` URI);
- ``docs/asyncapi.yaml``: AsyncAPI 3.0 document of every Kafka topic;
- ``docs/openapi/<service>.json``: each service's OpenAPI document (as its ``/openapi.json`` serves it).

    learnloop contracts --write   # (re)write them
    learnloop contracts --check   # exit 1 if any committed file differs from what the code generates

Output is deterministic (sorted keys in JSON; the YAML in the generator's fixed order), so the unit tests
compare files exactly. ``--write`` refuses to overwrite a committed event schema with one that breaks its
consumers (see :mod:`.events.compat`): such a change needs a new event type and an upcaster.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from .asyncapi import asyncapi_document
from .events.compat import breaking_changes
from .events.schemas import dumps, event_schemas

SERVICES = ("share", "learn", "notify")
EVENTS_DIR = Path("docs/events")
ASYNCAPI_FILE = Path("docs/asyncapi.yaml")
OPENAPI_DIR = Path("docs/openapi")


def openapi_document(service: str) -> dict[str, Any]:
    """The service's OpenAPI document, from its app built for the API role (no server, no connections)."""
    from .runtime import create_app
    from .settings import Role

    defn = importlib.import_module(f"learnloop_{service}.app").SERVICE
    # Defaults only, not this process's LEARNLOOP_* environment: the document must not depend on where it is made.
    settings = defn.settings_cls.model_construct(role=Role.api)
    doc: dict[str, Any] = create_app(defn, settings).openapi()
    return doc


def dump_yaml(doc: Any) -> str:
    import yaml  # PyYAML: a dev dependency, like generating the contracts

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # no &id001 anchors: every part of the document reads on its own

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None  # descriptions stay readable Markdown
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    out: str = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    return out


def generate() -> dict[Path, str]:
    """Every contract file, by path relative to the repository root, with its exact content."""
    files = {EVENTS_DIR / f"{t}.json": dumps(schema) for t, schema in event_schemas().items()}
    files[ASYNCAPI_FILE] = dump_yaml(asyncapi_document())
    for service in SERVICES:
        files[OPENAPI_DIR / f"{service}.json"] = dumps(openapi_document(service))
    return files


def committed_event_schemas(root: Path) -> dict[str, dict[str, Any]]:
    """The event schemas in ``docs/events/`` under ``root``, by type."""
    folder = root / EVENTS_DIR
    return {p.name.removesuffix(".json"): json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def compatibility_problems(root: Path, generated: dict[Path, str] | None = None) -> list[str]:
    """Breaking changes between the committed event schemas and the ones the code generates now."""
    files = generated if generated is not None else generate()
    problems: list[str] = []
    for event_type, old in committed_event_schemas(root).items():
        current = files.get(EVENTS_DIR / f"{event_type}.json")
        if current is None:
            problems.append(f"{event_type}: event type removed (consumers may still receive it)")
            continue
        problems += [f"{event_type}: {p}" for p in breaking_changes(old, json.loads(current))]
    return problems


def stale_files(root: Path, generated: dict[Path, str] | None = None) -> list[str]:
    """Paths whose committed content differs from the generated one, or that should not be there."""
    files = generated if generated is not None else generate()
    stale = [str(path) for path, text in files.items() if _read(root / path) != text]
    for folder in (EVENTS_DIR, OPENAPI_DIR):
        extra = [p.relative_to(root) for p in sorted((root / folder).glob("*.json"))]
        stale += [str(p) for p in extra if p not in files]
    return stale


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def write(root: Path) -> list[str]:
    """Write every contract file under ``root``; returns the paths changed. Refuses breaking changes."""
    files = generate()
    problems = compatibility_problems(root, files)
    if problems:
        raise SystemExit(
            "refusing to change published event schemas incompatibly (add a new ...v2 type and an upcaster):\n  "
            + "\n  ".join(problems)
        )
    changed = []
    for path, text in files.items():
        target = root / path
        if _read(target) != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            changed.append(str(path))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learnloop contracts", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write the files under docs/")
    action.add_argument("--check", action="store_true", help="exit 1 if a committed file is out of date")
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if args.write:
        for path in write(root):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    files = generate()
    problems = compatibility_problems(root, files) + [f"{p}: out of date" for p in stale_files(root, files)]
    for line in problems:
        sys.stderr.write(line + "\n")
    if problems:
        sys.stderr.write("run `learnloop contracts --write` (breaking event changes need a new type instead)\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
