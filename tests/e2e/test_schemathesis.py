"""Property-based API tests: schemathesis against each running service's own ``/openapi.json``.

Stateless phases (examples, coverage, fuzzing) and the stateful phase (links between operations) run with a
token that holds every scope, for a user that exists. The checks: no 5xx, every response has a content type
its operation declares, and matches the schema declared for it (errors included: ``application/problem+json``,
declared for 4XX and 5XX on every operation). The number of examples is
bounded and the seed fixed, so the run is repeatable and takes about a minute for the three services.
``GET /v1/notifications/stream`` (notify) and ``GET /v1/shares/{share_id}/feedback/stream`` (learn) are left
out: their responses never end by design (SSE); their bad inputs are covered in ``test_errors.py`` and the
authorisation matrix.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from learnloop_shared.auth import issue_token
from learnloop_shared.local.stack import SERVICES

SCOPES = ("directory:write", "shares:publish", "publishers:write")
MAX_EXAMPLES = 30
SEED = 10


def _st() -> str:
    return str(Path(sys.executable).with_name("st"))


@pytest.fixture(scope="module")
async def fuzzer(stack) -> str:
    """A token for a user that exists, with every scope."""
    import httpx

    secret = stack.secret_file.read_text().strip()
    user = f"fuzzer-{uuid.uuid4().hex[:8]}"
    token = issue_token(secret, user, SCOPES)
    async with httpx.AsyncClient(base_url=stack.url("share"), timeout=15) as share:
        r = await share.put(f"/v1/users/{user}", json={"name": "Fuzzer"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    return token


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_holds_under_fuzzing(stack, fuzzer, service, tmp_path):
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
