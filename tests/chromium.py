"""Headless Debian Chromium through Playwright, for every page test (fake server or real lab).

Missing Chromium or Playwright skips a test outside CI and fails it in CI (``require``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.conftest import require

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: how long an ``expect`` waits for a page to get where a test says (Playwright's default is 5 s):
#: on the 2-CPU CI machine running the suite side by side, a page's round trip to a lab under
#: load has taken longer; a page that never gets there still fails, only later
EXPECT_TIMEOUT_MS = 15_000


@contextlib.asynccontextmanager
async def launched_chromium(extra_args: tuple[str, ...] = ()) -> AsyncIterator[Any]:
    """A headless Chromium browser (playwright's ``Browser``), closed on exit."""
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require(False, "playwright (Python) is not installed")
    from playwright.async_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            await browser.close()
