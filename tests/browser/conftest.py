"""Browser tests: the inbox page in Debian's headless Chromium, driven by async Playwright.

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium``
(``tests/browser/install-chromium.sh`` installs it; ``make test`` runs that first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from learnloop_shared.local.servers import LocalInfra
from learnloop_shared.local.stack import LocalStack

from tests.e2e import conftest as e2e
from tests.e2e.conftest import api  # noqa: F401  (re-exported: HTTP clients for the three services)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def stack(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The e2e ``stack`` (all three services as processes), but only for this package's tests.

    Re-exporting the session fixture itself would register a second, independent session fixture: its
    services would keep running beside the e2e tests' own (same databases and consumer groups) until the
    session ends. Package scope stops them before the e2e tests start theirs.
    """
    yield from e2e.stack.__wrapped__(infra, tmp_path_factory)


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing (Debian's chromium; bash tests/browser/install-chromium.sh installs it as root)",
)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[object]:
    """One headless Chromium for this package's tests (each test opens its own contexts)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture(scope="session")
def screenshots(repo_root: Path) -> Path:
    """Where the browser tests leave screenshots to look at (under var/, which git ignores)."""
    d = repo_root / "var" / "browser-screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d
