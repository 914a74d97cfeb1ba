"""docs/asyncapi.yaml is a valid AsyncAPI document, checked by the AsyncAPI CLI itself.

`make asyncapi-cli` installs the pinned `@asyncapi/cli` from npm into .tools/asyncapi once (`make test`
runs it first; this test runs it too, so plain pytest works). Needs Node.js 20 and npm; the CLI works
offline. Without npm the test fails and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".tools" / "asyncapi" / "node_modules" / ".bin" / "asyncapi"


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASYNCAPI_METRICS": "false", "SUPPRESS_NO_CONFIG_WARNING": "1"}
    return subprocess.run(
        args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.contracts
@pytest.mark.timeout(600)
def test_asyncapi_document_validates_with_the_asyncapi_cli() -> None:
    make = shutil.which("make")
    assert make is not None, "make is needed to install the AsyncAPI CLI (make asyncapi-cli)"
    assert shutil.which("npm") is not None, "npm not found: the AsyncAPI check needs Node.js 20 and npm"
    install = _run([make, "--no-print-directory", "asyncapi-cli"], timeout=580)
    assert install.returncode == 0, f"make asyncapi-cli failed:\n{install.stdout}\n{install.stderr}"
    assert CLI.exists(), f"{CLI} missing after make asyncapi-cli"
    proc = _run([str(CLI), "validate", "docs/asyncapi.yaml"], timeout=120)
    output = f"{proc.stdout}\n{proc.stderr}".strip()
    assert proc.returncode == 0, f"asyncapi validate exited {proc.returncode}:\n{output}"
    assert "is valid" in output, output
