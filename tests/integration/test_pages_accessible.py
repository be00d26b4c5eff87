"""Every page is readable by everyone: axe-core (tests/vendor/axe-core/, made by
scripts/vendor-axe-core.sh) runs in headless Chromium (Chinese fonts) on each page of
screenpop/ against the real server (its web app, no Asterisk, with a business's data), and on
the agent's desk in a call and the supervisor's view with live calls against the pages' fake
server (tests/ui_fake_server.py), which has calls to show. Its WCAG 2.1 A and AA rules must
find nothing: the contrast of every text against its background at least 4.5:1 (3:1 when
large), names for every control, and so on. And the desk's main actions work by keyboard
alone (screenpop/desk-keys.js): Tab reaches each, Enter presses it, and its Alt key too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from ctiserver.recordings.tables import RecordingRow
from ctiserver.server import CtiServer
from ctiserver.users.store import UserRepository
from tests.api_contract import ContractCheck
from tests.business_seed import business_rows, write
from tests.chromium import launched_chromium
from tests.integration.flow_editor import paste_source, wait_for_text
from tests.staff import FAST_HASHER, add_staff
from tests.support.pages import Site, real_site
from tests.ui_fake_server import PASSWORD as FAKE_PASSWORD
from tests.ui_fake_server import FakeDesk, live_call, sample_pop
from tests.unit.test_customer_import import CHINESE
from tests.unit.test_flows_api import BAD_REFERENCE, SOURCE

with contextlib.suppress(ImportError):  # launched_chromium skips outside CI, fails in CI
    from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[2]
SCREENPOP = ROOT / "screenpop"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "accessible pages password"
TIMEOUT_MS = 10_000
#: the rules: WCAG 2.0 and 2.1, levels A and AA (colour contrast among them)
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: each page of screenpop/ and who opens it (every HTML file must be here: see the first test)
PAGE_USERS = {
    "index.html": "agent",
    "agent.html": "agent",
    "supervisor.html": "supervisor",
    "reports.html": "supervisor",
    "department.html": "staff",
    "lookup.html": "agent",
    "admin/customers.html": "admin",
    "admin/audit.html": "admin",
    "admin/flows.html": "admin",
    "admin/users.html": "admin",
}


async def seed(cti: CtiServer) -> None:
    """A business's data: customers, tickets, visits; a user of each role; a recording."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    await write(cti.db.engine, business_rows(now - dt.timedelta(days=6), 5, tickets_per_day=6, customers=20))
    users = UserRepository(cti.db, FAST_HASHER)
    await users.add("agent", PASSWORD, "agent", "王小明")
    await users.add("supervisor", PASSWORD, "supervisor", "赵主管")
    await users.add("admin", PASSWORD, "admin", "李管理")
    # the staff member works in a branch of the seeded tickets (its first: 深圳)
    await add_staff(cti.db, "staff", PASSWORD, "repair", 1, "王工")
    async with cti.db.session() as session:  # a recording to list (its file is not needed for that)
        session.add(RecordingRow(
            id=uuid.uuid4().hex, call_id="1.1", leg_uniqueid="1.2", caller_number="13800138000",
            caller_name="张伟", agent="1001", agent_interface="PJSIP/1001", queue="support",
            customer_id=1, started_at=now - dt.timedelta(hours=1),
            ended_at=now - dt.timedelta(minutes=55), duration=300.0, size=1, format="wav",
            checksum=None, path="2026/01/01/x.wav", flag=None,
        ))
        await session.commit()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with real_site(tmp_path_factory.mktemp("accessible"), seed) as found:
        yield found


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake() -> AsyncIterator[FakeDesk]:
    desk = FakeDesk(ContractCheck.of_server())
    await desk.start()
    try:
        yield desk
    finally:
        await desk.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script("localStorage.setItem('ctiserver.lang', 'zh')")
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    try:
        yield page
    finally:
        await context.close()


async def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#login-form input[name=username]", username)
    await page.fill("#login-form input[name=password]", password)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login")).to_be_hidden()


async def violations(page: Page) -> list[str]:
    """What axe finds on the page as it is now: one line per rule and element."""
    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    found = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return result.violations.flatMap((rule) => rule.nodes.map((node) =>
                `${rule.id} (${rule.impact}): ${node.target.join(" ")}: ${node.failureSummary.replace(/\\s+/g, " ")}`));
        }""",
        WCAG_AA,
    )
    return list(found)


def html_pages() -> set[str]:
    return {
        str(path.relative_to(SCREENPOP)) for path in SCREENPOP.rglob("*.html") if "vendor" not in path.parts
    }


async def test_every_page_is_checked() -> None:
    assert html_pages() == set(PAGE_USERS)


async def test_the_login_form_and_that_the_check_finds_pale_text(site: Site, page: Page) -> None:
    await page.goto(f"{site.base}/ui/agent.html")
    await expect(page.locator("#login")).to_be_visible()
    await page.evaluate(
        """() => { const p = document.createElement("p"); p.id = "pale"; p.textContent = "录音";
                   p.style.color = "#e2e8f0"; p.style.background = "#fff"; document.body.append(p); }"""
    )
    pale = await violations(page)
    assert len(pale) == 1 and pale[0].startswith("color-contrast (serious): #pale:"), pale
    await page.evaluate("() => document.getElementById('pale').remove()")
    found = await violations(page)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("name", sorted(PAGE_USERS))
async def test_each_page_against_the_real_server(site: Site, page: Page, name: str) -> None:
    url = "/" if name == "index.html" else f"/ui/{name}"
    await page.goto(f"{site.base}{url}")
    await log_in(page, PAGE_USERS[name])
    await expect(page.locator("#main")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    if name == "admin/flows.html":  # a flow with a problem: the editor, its marks and the list
        await page.click("#flow-list button[data-flow=hotline]")
        await wait_for_text(page, SOURCE)
        await paste_source(page, BAD_REFERENCE)
        await expect(page.locator("#problems li")).to_have_count(1)
        await page.locator("#problems li button").click()
    elif name == "admin/customers.html":  # an import's report, with its rejected lines
        await page.set_input_files("#file", files=[{
            "name": "客户.csv", "mimeType": "text/csv", "buffer": CHINESE.encode("utf-8")}])
        await page.click("#upload")
        await expect(page.locator("#problems li").first).to_be_visible()
    elif name == "lookup.html":  # a customer found, with their card, products and tickets
        await page.fill("#find-q", "customer 1")  # the seeded customers have names, no phones
        await page.click("[data-testid=find-submit]")
        await expect(page.locator("#find-results > *").first).to_be_visible()
    elif name == "admin/users.html":  # a user's form, filled to edit
        await page.locator("[data-testid=user-edit]").first.click()
    elif name == "department.html":  # a ticket open beside the list
        await page.locator("[data-testid=ticket-row]").first.click()
        await expect(page.locator("[data-testid=detail-number]")).to_be_visible()
    await page.screenshot(path=f"/tmp/accessible-{name.replace('/', '-')}.png", full_page=True)
    found = await violations(page)
    assert found == [], "\n".join(found)


async def test_the_supervisors_tabs(site: Site, page: Page) -> None:
    """Reports, callbacks, recordings (one found) and live calls to listen to, each checked."""
    answered = live_call("1718000200.1", "18600001111", "吴先生", agent="1002", duration=9.0)
    calls = json.dumps({"calls": [answered]})
    await page.route("**/api/calls?state=active", lambda route: route.fulfill(
        body=calls, content_type="application/json"))  # no Asterisk here: a live call as the API gives it
    await page.goto(f"{site.base}/ui/supervisor.html")
    await log_in(page, "supervisor")
    await expect(page.locator("#main")).to_be_visible()
    found = {}
    for tab in ("report", "callbacks", "recordings"):
        await page.click(f"#tab-{tab}")
        await page.wait_for_load_state("networkidle")
        if tab == "recordings":
            await page.click("#mon-refresh")
            await expect(page.locator("[data-testid=mon-call]")).to_have_count(1)
            await expect(page.locator("[data-testid=rec-play]")).to_have_count(1)
        await page.screenshot(path=f"/tmp/accessible-supervisor-{tab}.png", full_page=True)
        found[tab] = await violations(page)
    assert found == {"report": [], "callbacks": [], "recordings": []}, found


async def test_the_desk_in_a_call(fake: FakeDesk, page: Page) -> None:
    await page.goto(f"{fake.base}/ui/agent.html")
    await log_in(page, "agent1", FAKE_PASSWORD)
    await expect(page.locator("#main")).to_be_visible()
    await page.request.post(f"{fake.base}/_fake/demo")
    await expect(page.locator("[data-testid=pop]")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path="/tmp/accessible-desk-call.png", full_page=True)
    found = await violations(page)
    assert found == [], "\n".join(found)


async def test_the_live_calls(fake: FakeDesk, page: Page) -> None:
    await page.goto(f"{fake.base}/ui/supervisor.html")
    await log_in(page, "super", FAKE_PASSWORD)
    await expect(page.locator("#main")).to_be_visible()
    await page.request.post(f"{fake.base}/_fake/demo")
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path="/tmp/accessible-live-calls.png", full_page=True)
    found = await violations(page)
    assert found == [], "\n".join(found)


async def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        if await page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_the_desks_main_actions_by_keyboard(fake: FakeDesk, page: Page) -> None:
    await page.goto(f"{fake.base}/ui/agent.html")
    await log_in(page, "agent2", FAKE_PASSWORD)
    await expect(page.locator("#controls")).to_be_visible()
    fake.requests.clear()

    # sign in to the queues: Tab to the button, Enter
    await tab_to(page, "#login-button")
    await page.keyboard.press("Enter")
    await expect(page.locator("#state")).to_have_attribute("data-state", "ready")
    assert len(fake.requests_to("POST", "/api/agent/login")) == 1

    # pause for a reason chosen with the arrow keys, by Alt+P; ready again by Alt+R
    await tab_to(page, "#pause-reason")
    await page.keyboard.press("ArrowDown")
    reason = await page.locator("#pause-reason").input_value()
    await page.keyboard.press("Alt+P")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    assert [r["json"] for r in fake.requests_to("POST", "/api/agent/pause")] == [{"reason": reason}]
    await page.keyboard.press("Alt+R")
    await expect(page.locator("#state")).to_have_attribute("data-state", "ready")

    # a call answered: Alt+T goes to the transfer's field, Enter transfers
    await fake.wait_sockets(2)
    pop = sample_pop("1718000300.1", answered=True)
    assert await fake.push(2, {"type": "pop", "event": "answered", "pop": pop}) == 1
    transfer = page.locator("[data-testid=transfer-extension]")
    await expect(transfer).to_be_visible()
    await page.keyboard.press("Alt+T")
    await expect(transfer).to_be_focused()
    await page.keyboard.type("1001")
    async with page.expect_response("**/api/agent/transfer"):
        await page.keyboard.press("Enter")
    assert [r["json"] for r in fake.requests_to("POST", "/api/agent/transfer")] == [{"extension": "1001"}]

    # hang up: Tab reaches the button (Enter presses it), and Alt+H from anywhere
    hangup = page.locator("[data-testid=pop-hangup]")
    await expect(hangup).to_have_attribute("aria-keyshortcuts", "Alt+H")
    await expect(hangup).to_have_attribute("title", "快捷键：Alt+H")
    await tab_to(page, "[data-testid=pop-hangup]")
    async with page.expect_response("**/api/agent/hangup"):
        await page.keyboard.press("Enter")
    await page.locator("#tab-history").focus()  # elsewhere on the desk
    async with page.expect_response("**/api/agent/hangup"):
        await page.keyboard.press("Alt+H")
    assert len(fake.requests_to("POST", "/api/agent/hangup")) == 2
