"""The flow editor page in Debian's Chromium against the real web app (no Asterisk needed)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from ctiserver.ivr.registry import FlowRegistry
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.conftest import free_port, require
from tests.support.web_fakes import FAST_HASHER, XSS, FakeAmi, FakeTracker
from tests.unit.test_flows_api import (
    BAD_REFERENCE,
    NEW_GREETING,
    SOURCE,
    VALID_EDIT,
    hotline_registry,
    line_of,
)

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # launched_chromium skips outside CI, fails in CI
    pass

pytestmark = pytest.mark.integration

PASSWORD = "pw 口令"
SCREENSHOT = Path("/tmp/admin-flows.png")
TIMEOUT_MS = 10_000


@dataclasses.dataclass
class Site:
    base: str
    registry: FlowRegistry


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    from tests.unit.web_app import build_app

    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("admin", PASSWORD, "admin", "李管理")
    await users.add("agent1001", PASSWORD, "agent", "王小明")
    registry = await hotline_registry(tmp_path, db)
    settings = Settings().replace(web={"session_secret": "admin flows page"})
    app = build_app(
        settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users, flows=registry
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Site(f"http://127.0.0.1:{port}", registry)
    finally:
        await runner.cleanup()
        await db.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require(
        shutil.which("dot") is not None, "Graphviz dot is not installed (apt-get install graphviz)"
    )
    async with launched_chromium() as browser:
        yield browser


async def open_as(browser: Browser, site: Site, username: str) -> tuple[Page, list[str]]:
    """A fresh browser context on the page, logged in through its own login form."""
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    # the page's English (the Chinese editor: tests/integration/test_page_shell.py)
    await context.add_init_script("localStorage.setItem('ctiserver.lang', 'en')")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{site.base}/ui/admin/flows.html")
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#login-form input[name=username]", username)
    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    return page, errors


async def test_edit_check_publish_and_roll_back(browser: Browser, site: Site) -> None:
    page, errors = await open_as(browser, site, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#whoami")).to_have_text("李管理 (admin)")

    await page.click("#flow-list button[data-flow=hotline]")
    await expect(page.locator("#source")).to_have_value(SOURCE)
    await expect(page.locator("#check-state")).to_contain_text("no problems")
    await expect(page.locator("#publish")).to_be_disabled()  # nothing changed yet

    # a goto to nowhere: reported by line, marked in the gutter, no publishing
    await page.fill("#source", BAD_REFERENCE)
    bad_line = line_of(BAD_REFERENCE, "next: nowhere")
    await expect(page.locator("#problems li")).to_have_text(
        [f"line {bad_line}, column 11: next: no node named 'nowhere'"]
    )
    await expect(page.locator("#publish")).to_be_disabled()
    await expect(page.locator(f"#gutter div:nth-child({bad_line})")).to_have_class("bad")
    assert await page.locator("#gutter div.bad").count() == 1

    # a valid edit with Chinese text: no problems, a diagram that has loaded, Publish allowed
    await page.fill("#source", VALID_EDIT)
    await expect(page.locator("#check-state")).to_contain_text("no problems")
    await expect(page.locator("#problems li")).to_have_count(0)
    assert await page.locator("#gutter div.bad").count() == 0
    diagram = page.locator("#diagram")
    await expect(diagram).to_be_visible()
    await page.wait_for_function(
        "() => { const img = document.getElementById('diagram');"
        " return img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'); }"
    )
    await expect(page.locator("#publish")).to_be_enabled()

    await page.fill("#note", f"新的问候语 {XSS}")
    await page.click("#publish")
    await expect(page.locator("#publish-result")).to_have_text("Published hotline version 2")
    assert site.registry.active_version("hotline").number == 2  # type: ignore[union-attr]
    assert site.registry.get("hotline").source == VALID_EDIT  # type: ignore[union-attr]
    await expect(page.locator("#publish")).to_be_disabled()

    # the versions list: the note is shown as text, never as markup
    rows = page.locator("#versions li")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator(".note")).to_have_text(f"新的问候语 {XSS}")
    assert await page.locator("#versions img").count() == 0
    await expect(rows.nth(0).locator("button.rollback")).to_have_count(0)  # the active one

    await rows.nth(0).get_by_role("button", name="Diff").click()
    await expect(page.locator("#diff .add")).to_contain_text([NEW_GREETING])
    await expect(page.locator("#diff .del")).to_contain_text(["您好，欢迎致电售后服务热线。"])
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#versions li[data-number='1'] button.rollback").click()
    await expect(page.locator("#publish-result")).to_contain_text("hotline is now version 3")
    assert site.registry.active_version("hotline").number == 3  # type: ignore[union-attr]
    assert site.registry.get("hotline").source == SOURCE  # type: ignore[union-attr]
    await expect(page.locator("#source")).to_have_value(SOURCE)
    await expect(rows).to_have_count(3)
    await expect(page.locator("#versions li.active")).to_have_attribute("data-number", "3")
    assert errors == []


async def test_agents_are_told_admins_only(browser: Browser, site: Site) -> None:
    page, errors = await open_as(browser, site, "agent1001")
    await expect(page.locator("#denied")).to_be_visible()
    await expect(page.locator("#denied")).to_contain_text("Admins only")
    await expect(page.locator("#main")).to_be_hidden()
    status = await page.evaluate("async () => (await fetch('/api/flows')).status")
    assert status == 403
    assert errors == []
