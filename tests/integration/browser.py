"""Headless Debian Chromium driven by Playwright, one logged-in context per user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.chromium import launched_chromium


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with launched_chromium() as chromium:
        yield chromium


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
