"""Property-based API tests: schemathesis against each running service's own ``/openapi.json``.

Stateless phases (examples, coverage, fuzzing) and the stateful phase (links between operations) run with a
token that holds every scope, for a user that exists. The checks: no 5xx, every response has a content type
its operation declares, and matches the schema declared for it (errors included: ``application/problem+json``,
declared for 4XX and 5XX on every operation). The number of examples is
bounded and the seed fixed, so the run is repeatable and takes about a minute for the three services.
``GET /v1/notifications/stream`` (notify) and ``GET /v1/shares/{share_id}/feedback/stream`` (learn) are left
out: their responses never end by design (SSE); their bad inputs are covered in ``test_errors.py`` and the
authorisation matrix.

The fuzzer gets a stack of its own (its own databases, topics and consumer groups on the session's broker
and database servers): it writes thousands of users and teams and asks for directory republishes, which
must neither slow down nor change what the other end-to-end tests see.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from learnloop_shared.auth import issue_token
from learnloop_shared.local.servers import LocalInfra
from learnloop_shared.local.stack import SERVICES, LocalStack
from learnloop_shared.settings import Topics

from .conftest import TEST_ENV, running_stack

SCOPES = ("directory:write", "shares:publish", "publishers:write", "xapi:read", "xapi:write")
MAX_EXAMPLES = 30
SEED = 10


def _st() -> str:
    return str(Path(sys.executable).with_name("st"))


FUZZ_ENV = {
    **TEST_ENV,
    **{f"LEARNLOOP_TOPICS__{field.upper()}": f"fuzz.{name}" for field, name in Topics().model_dump().items()},
    "LEARNLOOP_KAFKA_CREATE_TOPICS": "true",
    "LEARNLOOP_KAFKA_GROUP_PREFIX": "fuzz",
}


@pytest.fixture(scope="module")
def fuzz_stack(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Its own topics (FUZZ_ENV) are created by the services themselves (LEARNLOOP_KAFKA_CREATE_TOPICS).
    yield from running_stack(infra, tmp_path_factory.mktemp("fuzz"), "fuzz", FUZZ_ENV)


@pytest.fixture(scope="module")
async def fuzzer(fuzz_stack: LocalStack) -> str:
    """A token for a user that exists, with every scope."""
    stack = fuzz_stack
    import httpx

    secret = stack.secret_file.read_text().strip()
    user = f"fuzzer-{uuid.uuid4().hex[:8]}"
    token = issue_token(secret, user, SCOPES)
    async with httpx.AsyncClient(base_url=stack.url("share"), timeout=15) as share:
        r = await share.put(f"/v1/users/{user}", json={"name": "Fuzzer"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    return token


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_holds_under_fuzzing(fuzz_stack, fuzzer, service, tmp_path):
    stack = fuzz_stack
    cmd = [
        _st(),
        "run",
        f"{stack.url(service)}/openapi.json",
        "--header",
        f"Authorization: Bearer {fuzzer}",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
    ]
    if service == "notify":
        cmd += ["--exclude-path", "/v1/notifications/stream"]
    if service == "learn":
        cmd += ["--exclude-path", "/v1/shares/{share_id}/feedback/stream"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, (
        f"schemathesis found problems in {service}:\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}"
    )
