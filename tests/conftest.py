"""Shared fixtures: the real broker and database, started once per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from learnloop_shared.local.servers import LocalInfra
from learnloop_shared.local.stack import SERVICES


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A Tansu broker and a SecantusDB server on free loopback ports (in-memory data)."""
    logs = tmp_path_factory.mktemp("infra-logs")
    servers = LocalInfra.on_free_ports(SERVICES, log_dir=logs)
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
