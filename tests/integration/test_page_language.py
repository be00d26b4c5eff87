"""One language at a time: every page in Chinese, over the lab's demo data (queues, departments,
product categories, phone kinds, a ticket the IVR opened and the rules dispatched, a callback
owed, audit events), shows none of the vocabulary's English words, in headless Chromium
against the real server (no Asterisk). The list of words is derived from the vocabulary (the
English side of i18n.js's VOCABULARY and the codes of ctiserver/vocabulary.py); a Latin word the
Chinese table itself uses (VIP, IVR, CSV...) is Chinese usage. Text shown as code on purpose
(class ``mono``: numbers, ids, interfaces, an audit event's action) and the flow editor's YAML
are not words of the page. The admin's audit log page is also exercised here (its filters).

Screenshots: /tmp/language-<page>.png.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from ctiserver import vocabulary
from ctiserver.callbacks.model import Miss, Source
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.customers import Customer
from ctiserver.lab.demo import seed_demo
from ctiserver.lab.demo_dispatch import seed_demo_dispatch
from ctiserver.server import CtiServer
from tests.chromium import launched_chromium
from tests.staff import FAST_HASHER
from tests.support.pages import Site, real_site

with contextlib.suppress(ImportError):  # launched_chromium skips outside CI, fails in CI
    from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "language page password"
TIMEOUT_MS = 15_000
#: the pages, and the tabs of each to look at (the flow editor's content is YAML: left out)
PAGES = {
    "home": ("/", ()),
    "agent": ("/ui/agent.html", ()),
    "supervisor": ("/ui/supervisor.html", ("live", "report", "callbacks", "recordings")),
    "reports": ("/ui/reports.html", ()),
    "department": ("/ui/department.html", ()),
    "customers": ("/ui/admin/customers.html", ()),
    "users": ("/ui/admin/users.html", ()),
    "audit": ("/ui/admin/audit.html", ()),
}
#: the visible text of a page that is words (not code shown as code), options of visible selects included
VISIBLE_WORDS = """() => {
  const skip = "script, style, code, kbd, pre, .mono, [hidden], #whoami";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !node.textContent.trim()) continue;
    if (parent.closest("option")) {
      const select = parent.closest("select");
      if (select && select.getClientRects().length) out.push(node.textContent.trim());
    } else if (parent.getClientRects().length) {
      out.push(node.textContent.trim());
    }
  }
  for (const input of document.querySelectorAll("input[placeholder]")) {
    if (input.getClientRects().length) out.push(input.placeholder);
  }
  return out;
}"""


def latin_words(text: str) -> set[str]:
    return {word.casefold() for word in re.findall(r"[A-Za-z][A-Za-z'-]+", text)}


async def english_vocabulary(page: Page) -> set[str]:
    """The vocabulary's English words: its pages' English words and its codes, less the Latin
    words the Chinese table uses itself."""
    tables = await page.evaluate(
        "async () => { const m = await import('/ui/i18n.js'); return {vocabulary: m.VOCABULARY, zh: m.STRINGS.zh}; }")
    words: set[str] = set()
    for codes in tables["vocabulary"].values():
        for code, (_zh, en) in codes.items():
            words |= latin_words(en) | latin_words(code.replace("_", " "))
    for name in dir(vocabulary):
        value = getattr(vocabulary, name)
        if name.isupper() and isinstance(value, (tuple, frozenset)):
            words |= {w for code in value for w in latin_words(str(code).replace("_", " "))}
    chinese_usage = {w for text in tables["zh"].values() for w in latin_words(str(text))}
    return {w for w in words if len(w) > 2} - chinese_usage


async def seed(cti: CtiServer) -> None:
    """The lab's demo data, a ticket the IVR opened and the rules dispatched, a callback owed."""
    await seed_demo(cti.db, password=PASSWORD, hasher=FAST_HASHER)
    await seed_demo_dispatch(cti.db, PASSWORD, FAST_HASHER)
    async with cti.db.session() as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "张伟"))
    assert customer is not None
    # the IVR opens a repair ticket, the rules dispatch it (actors "ivr" and "dispatch")
    await cti.tickets.open("repair", "报修：空调（来电 13800138000）", {"product": "空调"}, customer_id=customer.id,
                             source="ivr")
    await CallbackRepository(cti.db).record_miss(
        Miss("13800138000", Source.ABANDONED, 1_800_000_000.0, queue="repair", wait_seconds=25.0, linkedid="cb-1"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with real_site(tmp_path_factory.mktemp("language"), seed) as found:
        yield found


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as browser:
        yield browser


async def logged_in(browser: Browser, site: Site, username: str = "admin", lang: str = "zh") -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(f"localStorage.setItem('ctiserver.lang', '{lang}')")
    response = await context.request.post(f"{site.base}/login", form={"username": username, "password": PASSWORD})
    assert response.ok
    return await context.new_page()


async def settled(page: Page) -> None:
    await expect(page.locator("#main")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    await page.wait_for_function("() => !document.querySelector('[aria-busy=true]')")


async def test_no_chinese_page_shows_an_english_vocabulary_word(site: Site, browser: Browser) -> None:
    page = await logged_in(browser, site)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{site.base}/")
    english = await english_vocabulary(page)
    # the list is the vocabulary's: the words the issue found on the Chinese pages are in it
    assert {"support", "washing", "machine", "mobile", "home", "dispatch", "customer"} <= english, english
    found: dict[str, set[str]] = {}
    checked = 0
    for name, (path, tabs) in PAGES.items():
        await page.goto(f"{site.base}{path}")
        await settled(page)
        views = tabs or ("",)
        for tab in views:
            if tab:
                await page.click(f"[data-testid=tab-{tab}]")
                await settled(page)
            if name == "department":  # a ticket's history: its actors
                await page.locator("[data-testid=ticket-row]").first.click()
                await expect(page.locator("[data-testid=history-row]").first).to_be_visible()
            texts = await page.evaluate(VISIBLE_WORDS)
            checked += len(texts)
            shown = {w for text in texts for w in latin_words(text)} & english
            if shown:
                found[f"{name}{'/' + tab if tab else ''}"] = shown
            await page.screenshot(path=f"/tmp/language-{name}{'-' + tab if tab else ''}.png", full_page=True)
    assert checked > 300, checked  # the pages were read, not empty
    assert found == {}
    assert errors == []
    # the same check finds the words when the page is in English (it cannot pass vacuously)
    await page.goto(f"{site.base}/ui/supervisor.html")
    await settled(page)
    await page.click("#lang-toggle")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    shown = {w for text in await page.evaluate(VISIBLE_WORDS) for w in latin_words(text)} & english
    assert {"enquiries", "repairs"} <= shown, shown
    await page.context.close()


async def test_the_audit_log_page_finds_by_user_action_and_record(site: Site, browser: Browser) -> None:
    page = await logged_in(browser, site)
    # two changes by the admin: a user added, the ticket's note
    await page.goto(f"{site.base}/")
    added = await page.evaluate("""async () => {
      const answer = await fetch('/api/users', {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({username: 'audit-probe', password: 'audit probe password', role: 'agent'})});
      return answer.status;
    }""")
    assert added in (200, 201)
    await page.goto(f"{site.base}/ui/admin/audit.html")
    await settled(page)
    rows = page.locator("[data-testid=aud-row]")
    await expect(rows.filter(has_text="POST /api/users").first).to_be_visible()
    # by action (a prefix), then by a user nobody is: nothing, said so
    await page.fill("[data-testid=aud-action]", "POST /api/users*")
    await page.click("[data-testid=aud-search]")
    await expect(rows.first).to_contain_text("POST /api/users")
    for text in await rows.all_inner_texts():
        assert "POST /api/users" in text and "admin" in text
    await page.select_option("[data-testid=aud-kind]", "user")
    await page.click("[data-testid=aud-search]")
    await expect(rows.first).to_contain_text("用户")
    await page.fill("[data-testid=aud-user]", "nobody-at-all")
    await page.click("[data-testid=aud-search]")
    await expect(page.locator("[data-testid=aud-none]")).to_have_text("没有符合条件的记录")
    await page.screenshot(path="/tmp/language-audit-filtered.png", full_page=True)
    # not for supervisors: the page says so
    other = await logged_in(browser, site, "supervisor")
    await other.goto(f"{site.base}/ui/admin/audit.html")
    await expect(other.locator("#main")).to_be_hidden()
    assert await other.evaluate("async () => (await fetch('/api/audit')).status") == 403
    await other.context.close()
    await page.context.close()
