"""The page shell (screenpop/shell.js) in headless Chromium against the real server (its
features started, no Asterisk): every page shows the same header, whose language switch and
logout work; `/` lists the pages the user's role may open and shows the login to nobody;
"not allowed" names the pages one may open; the flow editor works in Chinese.

Screenshots: /tmp/shell-<page>.png (each page in Chinese, as an admin), /tmp/shell-home-<role>.png,
/tmp/shell-denied.png, /tmp/shell-flows-zh.png.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ctiserver.server import CtiServer
from ctiserver.users.store import UserRepository
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.contract import operations
from tests.chromium import launched_chromium
from tests.conftest import require
from tests.integration.flow_editor import paste_source, wait_for_text
from tests.staff import FAST_HASHER, add_branch, add_staff
from tests.support.pages import Site, real_site
from tests.unit.test_flows_api import BAD_REFERENCE, NEW_GREETING, SOURCE, VALID_EDIT, line_of

with contextlib.suppress(ImportError):  # launched_chromium skips outside CI, fails in CI
    from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "shell page password"
TIMEOUT_MS = 10_000
#: who may open which page, said here independently of shell.js's table
EXPECTED_PAGES = {
    "agent": ["agent", "lookup"],
    "supervisor": ["agent", "supervisor", "reports", "department", "lookup"],
    "admin": ["agent", "supervisor", "reports", "department", "lookup", "customers", "flows", "users", "audit"],
    "staff": ["department", "lookup"],
}
#: the shell's own parts of the header, in order (the page's own parts go after the title)
SHELL_START = ["shell-home", "shell-title"]
SHELL_END = ["conn", "whoami", "lang-toggle", "session-logout"]


async def seed(cti: CtiServer) -> None:
    users = UserRepository(cti.db, FAST_HASHER)
    await users.add("agent", PASSWORD, "agent", "王小明")
    await users.add("supervisor", PASSWORD, "supervisor", "赵主管")
    await users.add("admin", PASSWORD, "admin", "李管理")
    branch = await add_branch(cti.db, "北京海淀网点", "北京")
    await add_staff(cti.db, "staff", PASSWORD, "repair", branch, "王工")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with real_site(tmp_path_factory.mktemp("shell"), seed) as found:
        yield found


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    require(shutil.which("dot") is not None, "Graphviz dot is not installed (apt-get install graphviz)")
    async with launched_chromium() as browser:
        yield browser


@dataclasses.dataclass
class Tab:
    page: Page
    errors: list[str]


async def new_tab(browser: Browser, lang: str = "zh", width: int = 1440) -> Tab:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(f"localStorage.setItem('ctiserver.lang', '{lang}')")
    page = await context.new_page()
    tab = Tab(page, [])
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    return tab


async def log_in(page: Page, username: str) -> None:
    """Through the shell's login form, which the page shows to nobody."""
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#main")).to_be_hidden()
    await page.fill("#login-form input[name=username]", username)
    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")


async def shell_pages(page: Page) -> list[dict[str, Any]]:
    """shell.js's table of pages, as the browser has it."""
    return await page.evaluate("async () => (await import('/ui/shell.js')).PAGES")


async def strings(page: Page, lang: str) -> dict[str, str]:
    return await page.evaluate("async (lang) => (await import('/ui/i18n.js')).STRINGS[lang]", lang)


async def header_ids(page: Page) -> list[str]:
    return await page.locator("body > header.top").evaluate("(h) => [...h.children].map((n) => n.id)")


async def test_every_page_has_the_same_header_with_a_working_language_switch_and_logout(
    site: Site, browser: Browser
) -> None:
    tab = await new_tab(browser)
    page = tab.page
    await page.goto(f"{site.base}/")
    pages = await shell_pages(page)
    assert [p["id"] for p in pages] == EXPECTED_PAGES["admin"]
    zh, en = await strings(page, "zh"), await strings(page, "en")
    looks = set()
    for entry in [{"id": "home", "href": "/", "title": "home.page_title"}, *pages]:
        await page.goto(f"{site.base}{entry['href']}")
        await log_in(page, "admin")
        await expect(page.locator("#main")).to_be_visible()
        header = page.locator("body > header.top")
        ids = await header_ids(page)
        assert ids[:2] == SHELL_START and ids[-4:] == SHELL_END, (entry["id"], ids)
        await expect(page.locator("#shell-home")).to_have_attribute("href", "/")
        await expect(page.locator("#shell-home")).to_have_text(zh["shell.home"])
        await expect(page.locator("#shell-title")).to_have_text(zh[entry["title"]])
        assert await page.title() == zh[entry["title"]]
        await expect(page.locator("#whoami")).to_have_text("李管理 (admin)")
        await expect(page.locator("#lang-toggle")).to_have_text("English")
        await expect(page.locator("#session-logout")).to_have_text("退出登录")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        looks.add(await header.evaluate(
            "(h) => { const s = getComputedStyle(h); return [s.backgroundColor, s.color, s.display, s.minHeight]"
            ".concat([...h.querySelectorAll('#shell-home, #shell-title, #lang-toggle, #session-logout')]"
            ".map((n) => getComputedStyle(n).fontSize + ' ' + getComputedStyle(n).color)).join('|'); }"))
        await page.screenshot(path=f"/tmp/shell-{entry['id']}.png")

        # the language switch: the shell's words and the page's follow, and it is remembered
        await page.click("#lang-toggle")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#shell-title")).to_have_text(en[entry["title"]])
        await expect(page.locator("#lang-toggle")).to_have_text("中文")
        await expect(page.locator("#session-logout")).to_have_text(en["common.logout"])
        assert await page.title() == en[entry["title"]]
        assert await page.evaluate("localStorage.getItem('ctiserver.lang')") == "en"
        await page.click("#lang-toggle")
        await expect(page.locator("#shell-title")).to_have_text(zh[entry["title"]])

        # logout: the session ends on the server, the page shows the login
        await page.click("#session-logout")
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#main")).to_be_hidden()
        await expect(page.locator("#whoami")).to_have_text("")
        await expect(page.locator("#session-logout")).to_be_hidden()
        assert await page.evaluate("async () => (await fetch('/api/me')).status") == 401
    assert len(looks) == 1, looks  # one header, styled alike on every page
    assert tab.errors == []


async def test_a_page_whose_session_ends_elsewhere_shows_the_login_at_once(site: Site, browser: Browser) -> None:
    """A logout in another tab of the browser: the server closes the page's websocket (4401),
    and the page shows the login without waiting for the user's next click."""
    tab = await new_tab(browser)
    page = tab.page
    await page.goto(f"{site.base}/ui/agent.html")
    await log_in(page, "agent")
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    other_tab = await page.context.new_page()  # the same browser: the same cookie
    await other_tab.goto(f"{site.base}/")
    assert await other_tab.evaluate("async () => (await fetch('/logout', {method: 'POST'})).status") == 200
    await expect(page.locator("#login")).to_be_visible(timeout=5_000)  # the periodic check: 10 s
    await expect(page.locator("#main")).to_be_hidden()
    assert tab.errors == []


async def test_each_page_is_open_to_the_roles_of_its_route(site: Site, browser: Browser) -> None:
    tab = await new_tab(browser)
    await tab.page.goto(f"{site.base}/")
    declared = {f"{op.method} {op.path}": set(op.roles or USER_ROLES) for op in operations(site.cti.web_app)
                if not op.public}
    for entry in await shell_pages(tab.page):
        assert set(entry["roles"]) == declared[entry["route"]], entry
        assert sorted(role for role, ids in EXPECTED_PAGES.items() if entry["id"] in ids) == sorted(entry["roles"])


@pytest.mark.parametrize("role", sorted(EXPECTED_PAGES))
async def test_home_shows_the_login_then_the_pages_of_the_role(site: Site, browser: Browser, role: str) -> None:
    tab = await new_tab(browser, width=1000)
    page = tab.page
    await page.goto(f"{site.base}/")
    await expect(page.locator("[data-testid=hotline]")).to_have_text(site.hotline)  # filled by the server
    await log_in(page, role)
    links = page.locator("[data-testid=home-pages] a")
    await expect(links).to_have_count(len(EXPECTED_PAGES[role]))
    assert await links.evaluate_all("(nodes) => nodes.map((n) => n.dataset.page)") == EXPECTED_PAGES[role]
    zh = await strings(page, "zh")
    first = EXPECTED_PAGES[role][0]
    titles = {p["id"]: p["title"] for p in await shell_pages(page)}
    await expect(links.first).to_have_text(zh[titles[first]])
    await page.screenshot(path=f"/tmp/shell-home-{role}.png")
    await page.click("#lang-toggle")
    await expect(links.first).to_have_text((await strings(page, "en"))[titles[first]])
    await page.click("#lang-toggle")
    # a link opens its page, where the same session goes on
    await links.first.click()
    await expect(page.locator("#shell-title")).to_have_text(zh[titles[first]])
    await expect(page.locator("#main")).to_be_visible()
    assert tab.errors == []


async def test_not_allowed_names_the_pages_one_may_open(site: Site, browser: Browser) -> None:
    tab = await new_tab(browser)
    page = tab.page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"{site.base}/ui/admin/flows.html")
    await log_in(page, "staff")
    denied = page.locator("#denied")
    await expect(denied).to_be_visible()
    await expect(denied.locator("h2")).to_have_text("仅限管理员")
    await expect(page.locator("#main")).to_be_hidden()
    await expect(denied.locator("[data-testid=denied-pages] a")).to_have_count(len(EXPECTED_PAGES["staff"]))
    await expect(denied.locator("a[data-page=department]")).to_have_attribute("href", "/ui/department.html")
    await expect(denied.locator("a[data-page=lookup]")).to_have_attribute("href", "/ui/lookup.html")
    await page.screenshot(path="/tmp/shell-denied.png")
    await page.click("#lang-toggle")
    await expect(denied.locator("h2")).to_have_text("Admins only")
    assert not [url for url in requests if "/api/flows" in url]  # the page asked for nothing it may not have
    # the agent desk is not for department staff either
    await page.goto(f"{site.base}/ui/agent.html")
    await expect(denied).to_be_visible()
    await expect(denied.locator("h2")).to_have_text("仅限坐席")  # (the tab starts each page in Chinese)
    assert tab.errors == []


async def test_the_flow_editor_in_chinese(site: Site, browser: Browser) -> None:
    tab = await new_tab(browser, width=1600)
    page = tab.page
    await page.goto(f"{site.base}/ui/admin/flows.html")
    await log_in(page, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#shell-title")).to_have_text("IVR 流程")
    await page.click("#flow-list button[data-flow=hotline]")
    await wait_for_text(page, SOURCE)
    await expect(page.locator("#editor-title")).to_have_text("编辑器 · hotline（生效版本：v1）")
    await expect(page.locator("#check-state")).to_contain_text("没有问题", timeout=TIMEOUT_MS)
    await expect(page.locator("#problem-count")).to_have_text("（无）")

    await paste_source(page, BAD_REFERENCE)
    bad_line = line_of(BAD_REFERENCE, "next: nowhere")
    await expect(page.locator("#problems li")).to_have_text(
        [f"第 {bad_line} 行，第 11 列：next: no node named 'nowhere'"])
    await expect(page.locator("#check-state")).to_have_text("1 个问题")
    await expect(page.locator("#diagram-caption")).to_have_text(
        "修正问题后流程图才会更新；这是上一次有效文本的流程图。")
    await page.locator("#problems li button").click()  # to the problem's line, underlined
    await expect(page.locator(".cm-lintRange-error")).to_have_text("nowhere")
    await expect(page.locator("#publish")).to_be_disabled()

    await paste_source(page, VALID_EDIT)
    await expect(page.locator("#check-state")).to_contain_text("没有问题 · 流程 hotline", timeout=TIMEOUT_MS)
    await page.wait_for_function(
        "() => { const img = document.getElementById('diagram');"
        " return img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'); }")
    await expect(page.locator("#diagram-caption")).to_have_text("编辑器中文本的流程图。")
    await page.fill("#note", "新的问候语")
    await page.click("#publish")
    await expect(page.locator("#publish-result")).to_have_text("已发布 hotline 版本 2")
    rows = page.locator("#versions li")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator(".badge")).to_have_text("生效中")
    await rows.nth(0).get_by_role("button", name="对比").click()
    await expect(page.locator("#diff-title")).to_have_text("版本 2：与上一版本相比的改动")
    await expect(page.locator("#diff .add")).to_contain_text([NEW_GREETING])
    await expect(rows.nth(1).locator("button.rollback")).to_have_text("回滚到此版本")
    await expect(page.locator("#zoom")).to_have_text("实际大小")
    await page.screenshot(path="/tmp/shell-flows-zh.png", full_page=True)

    # the page's words switch language, the server's data stays as it is
    await page.click("#lang-toggle")
    await expect(page.locator("#publish-result")).to_have_text("Published hotline version 2")
    await expect(page.locator("#diff-title")).to_have_text("Version 2: changes against the version before")
    await expect(rows.nth(0).locator(".note")).to_have_text("新的问候语")
    await page.click("#lang-toggle")

    # roll back to version 1 (the dialog is accepted), in Chinese
    await rows.nth(1).locator("button.rollback").click()
    await expect(page.locator("#publish-result")).to_have_text("已回滚：hotline 现在是版本 3（版本 1 的文本）")
    await wait_for_text(page, SOURCE)
    assert tab.errors == []
