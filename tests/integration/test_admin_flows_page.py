"""The flow editor page in Debian's Chromium against the real web app (no Asterisk needed)."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from ctiserver.ivr.registry import FlowRegistry
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.conftest import free_port, require
from tests.integration.flow_editor import (
    cursor_line,
    editor_text,
    paste_source,
    put_cursor,
    wait_for_text,
)
from tests.support.web_fakes import FAST_HASHER, XSS, FakeAmi, FakeTracker
from tests.unit.test_flows_api import (
    BAD_REFERENCE,
    NEW_GREETING,
    SOURCE,
    VALID_EDIT,
    hotline_registry,
    line_of,
)

with contextlib.suppress(ImportError):  # launched_chromium skips outside CI, fails in CI
    from playwright.async_api import Browser, Page, expect

# one browser for the module; each test has its own site and browser context
pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "pw 口令"
SCREENSHOT = Path("/tmp/admin-flows.png")
TIMEOUT_MS = 10_000


@dataclasses.dataclass
class Site:
    base: str
    registry: FlowRegistry


@pytest_asyncio.fixture(loop_scope="module")
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


@pytest_asyncio.fixture(loop_scope="module", scope="module")
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
    # what the page's CSP refused (a style or image the editor would need) is an error too
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
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
    await wait_for_text(page, SOURCE)
    await expect(page.locator("#check-state")).to_contain_text("no problems", timeout=TIMEOUT_MS)
    await expect(page.locator("#publish")).to_be_disabled()  # nothing changed yet
    # YAML highlighting: keys and strings are told apart by the editor's colours
    key_colour = await page.locator(".cm-line", has_text="start: choose_language").locator(
        "span", has_text="start").first.evaluate("node => getComputedStyle(node).color")
    assert key_colour == "rgb(29, 78, 216)"

    # a goto to nowhere: reported by line, underlined there and marked in the gutter
    await paste_source(page, BAD_REFERENCE)
    bad_line = line_of(BAD_REFERENCE, "next: nowhere")
    problem = page.locator("#problems li button")
    await expect(problem).to_have_text(
        [f"line {bad_line}, column 11: next: no node named 'nowhere'"]
    )
    await expect(page.locator("#publish")).to_be_disabled()
    # clicking the problem puts the cursor on its line, in view, where the underline is
    await put_cursor(page, 0)
    await problem.click()
    await page.screenshot(path="/tmp/admin-flows-problem.png")
    assert await cursor_line(page) == bad_line
    await expect(page.locator(".cm-content")).to_be_focused()
    await expect(page.locator(".cm-lintRange-error")).to_have_text("nowhere")
    await expect(page.locator(".cm-activeLine")).to_contain_text("next: nowhere")
    await expect(page.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    # drawn without data: images (the page's CSP refuses them): a red wavy line, a red mark
    underline = await page.locator(".cm-lintRange-error").evaluate(
        "node => getComputedStyle(node).textDecoration")
    assert "wavy" in underline and "rgb(185, 28, 28)" in underline
    mark = await page.locator(".cm-lint-marker-error").evaluate(
        "node => getComputedStyle(node).backgroundColor")
    assert mark == "rgb(185, 28, 28)"
    await page.keyboard.press("End")
    await page.keyboard.press("Shift+Home")  # the line's text from its indentation
    await page.keyboard.type("next: main_menu")
    await expect(page.locator("#problems li")).to_have_count(0)
    await expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    await wait_for_text(page, SOURCE)
    # Tab indents in the editor (YAML wants spaces); Esc then Tab leaves it by keyboard
    await page.keyboard.press("Home")
    await page.keyboard.press("Tab")
    await expect(page.locator(".cm-activeLine")).to_have_text("      next: main_menu")
    await page.keyboard.press("Shift+Tab")
    await wait_for_text(page, SOURCE)
    await page.keyboard.press("Escape")
    await page.keyboard.press("Tab")
    await expect(page.locator(".cm-content")).not_to_be_focused()
    await wait_for_text(page, SOURCE)

    # a valid edit with Chinese text: no problems, a diagram that has loaded, Publish allowed
    await paste_source(page, VALID_EDIT)
    await expect(page.locator("#check-state")).to_contain_text("no problems", timeout=TIMEOUT_MS)
    await expect(page.locator("#problems li")).to_have_count(0)
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
    await wait_for_text(page, SOURCE)
    await expect(rows).to_have_count(3)
    await expect(page.locator("#versions li.active")).to_have_attribute("data-number", "3")
    assert errors == []


async def test_completion_and_hover_come_from_the_flow_schema(browser: Browser, site: Site) -> None:
    page, errors = await open_as(browser, site, "admin")
    await page.click("#flow-list button[data-flow=hotline]")
    await wait_for_text(page, SOURCE)
    # a new key in the queue node "to_support": the queue node's keys are offered, with words
    queue_node = SOURCE.index("    kind: queue\n")
    await put_cursor(page, SOURCE.index("\n", queue_node))
    await page.keyboard.press("Enter")
    await page.keyboard.type("overf")
    options = page.locator(".cm-tooltip-autocomplete li")
    await expect(options).to_have_count(2)
    await expect(options.nth(0)).to_contain_text("overflow_after")
    await expect(options.nth(0)).to_contain_text("seconds unanswered before overflowing")
    # (chosen by a click: the editor ignores Enter for a moment after the list changes)
    await options.filter(has_text="overflow_queue").click()
    assert "    kind: queue\n    overflow_queue: \n    queue: repair\n" in await editor_text(page)
    # its value: the server's queues
    await page.keyboard.type("compl")
    await expect(options).to_have_count(1)
    await expect(options).to_contain_text("a queue of the server")
    await options.filter(has_text="complaint").click()
    assert "    overflow_queue: complaint\n" in await editor_text(page)
    # the kind of a node: its values, each explained
    await put_cursor(page, SOURCE.index("kind: queue") + len("kind: "))
    await page.keyboard.press("Control+Space")
    await expect(options.filter(has_text="voicemail")).to_contain_text("records a message")
    await page.keyboard.press("Escape")
    # a reference to a node: the flow's node ids are offered
    offset = SOURCE.index("next: main_menu") + len("next: ")
    await put_cursor(page, offset)
    await page.keyboard.press("Control+Space")
    await expect(options.filter(has_text="greet_vip")).to_contain_text("node (play)")
    await page.keyboard.press("Escape")

    # hovering over a key says what it is, its type and default
    hover = page.locator("[data-testid=flow-hover]")
    line = page.locator(".cm-line", has_text="max_seconds: 120")
    await line.locator("span", has_text="max_seconds").first.hover()
    await expect(hover).to_contain_text("max_seconds")
    await expect(hover).to_contain_text("the longest message in seconds")
    # the same in Chinese
    await page.mouse.move(0, 0)
    await expect(hover).to_have_count(0)
    await page.click("#lang-toggle")
    await line.locator("span", has_text="max_seconds").first.hover()
    await expect(hover).to_contain_text("留言的最长秒数")
    await expect(page.locator(".keys-hint")).to_contain_text("Ctrl+空格：补全")
    await page.screenshot(path="/tmp/admin-flows-hover-zh.png")
    assert errors == []


async def test_agents_are_told_admins_only(browser: Browser, site: Site) -> None:
    page, errors = await open_as(browser, site, "agent1001")
    await expect(page.locator("#denied")).to_be_visible()
    await expect(page.locator("#denied")).to_contain_text("Admins only")
    await expect(page.locator("#main")).to_be_hidden()
    status = await page.evaluate("async () => (await fetch('/api/flows')).status")
    assert status == 403
    assert errors == []
