"""Headless Debian Chromium driven by Playwright, one logged-in context per user."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    require(shutil.which(CHROMIUM) is not None, f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require(False, "the playwright Python package is not installed")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        await chromium.close()


async def logged_in_page(browser: Any, base: str, username: str, password: str, path: str) -> Any:
    """A page of its own browser context, logged in as ``username``, showing ``path``."""
    context = await browser.new_context(base_url=base, locale="zh-CN")
    response = await context.request.post("/login", data={"username": username, "password": password})
    assert response.ok, await response.text()
    page = await context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: page.dialogs.append(dialog.message))  # type: ignore[attr-defined]
    await page.goto(path)
    return page
