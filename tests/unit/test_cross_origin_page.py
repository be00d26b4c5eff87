"""A page on another port of the same host (the same *site*: the ``Lax`` session cookie rides
along) tries to write with an agent's session in headless Chromium: a ``no-cors`` fetch of a
``text/plain`` body, an ``enctype=text/plain`` form, an urlencoded form, and a login form
(login CSRF). None may succeed. Then the users page, in Chromium, as an admin.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from ctiserver.customers.store import CustomerRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.unit.test_web import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app

pytestmark = pytest.mark.asyncio(loop_scope="module")

PASSWORD = "pw 口令 cross"
TIMEOUT_MS = 15_000

ATTACK = """<!doctype html>
<html><body>
<iframe name="sink" id="sink"></iframe>
<form id="plain" method="POST" enctype="text/plain" target="sink" action="{target}/api/tickets">
  <input name='{{"type":"repair","summary":"forged by a form","x":"' value='"}}'>
</form>
<form id="urlencoded" method="POST" target="sink" action="{target}/api/customers">
  <input name="name" value="forged urlencoded"><input name="phone" value="13900000002">
</form>
<form id="login" method="POST" target="sink" action="{target}/login">
  <input name="username" value="agent1002"><input name="password" value="{password}">
</form>
<script>
window.attack = async () => {{
  const done = (form) => new Promise((resolve) => {{
    document.getElementById("sink").onload = () => resolve(form);
    document.getElementById(form).submit();
  }});
  const results = [];
  try {{
    await fetch("{target}/api/customers", {{
      method: "POST", mode: "no-cors", credentials: "include",
      headers: {{"Content-Type": "text/plain"}},
      body: JSON.stringify({{name: "forged no-cors", phone: "13900000001"}}),
    }});
    results.push("no-cors sent");
  }} catch (error) {{
    results.push("no-cors failed: " + error);
  }}
  results.push(await done("plain"));
  results.push(await done("urlencoded"));
  results.push(await done("login"));
  return results;
}};
</script>
</body></html>
"""


class Site:
    def __init__(self, server: TestServer, attacker: TestServer, db: Database, users: UserRepository) -> None:
        self.server, self.attacker, self.db, self.users = server, attacker, db, users

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    tmp_path: Path = tmp_path_factory.mktemp("cross")
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    for name, role in (("agent1001", "agent"), ("agent1002", "agent"), ("admin", "admin")):
        await users.add(name, PASSWORD, role)
    app = build_app(Settings().replace(web={"session_secret": "cross origin test"}), db=db,
                    calls=FakeTracker(), ami=FakeAmi(), users=users)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    evil = web.Application()
    target = str(server.make_url("")).rstrip("/")

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=ATTACK.format(target=target, password=PASSWORD), content_type="text/html")

    evil.router.add_get("/attack.html", page)
    attacker = TestServer(evil, host="127.0.0.1")
    await attacker.start_server()
    yield Site(server, attacker, db, users)
    await attacker.close()
    await server.close()
    await db.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    async with launched_chromium() as chromium:
        yield chromium


async def test_a_page_on_another_port_cannot_write_nor_log_in(site: Site, browser: Any) -> None:
    context = await browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        # the agent logs in on the server's own page, as the login form does
        await page.goto(f"{site.base}/")
        await page.fill("#login-form input[name=username]", "agent1001")
        await page.fill("#login-form input[name=password]", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("[data-testid=whoami]:has-text('agent1001')")
        attack = await context.new_page()
        await attack.goto(str(site.attacker.make_url("/attack.html")))
        results = await attack.evaluate("window.attack()")
        assert results == ["no-cors sent", "plain", "urlencoded", "login"], results
        # nothing was written, and the agent is still who they were
        customers = await CustomerRepository(site.db).find_by_phone("13900000001")
        assert not customers
        assert not await CustomerRepository(site.db).find_by_phone("13900000002")
        async with site.db.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM tickets")) == 0
        me = await page.evaluate("fetch('/api/me').then((r) => r.json())")
        assert me["user"]["username"] == "agent1001"
        # the same page's own JSON write works (same origin, application/json)
        created = await page.evaluate(
            "fetch('/api/customers', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({name: '真客户', phone: '13900000009'})}).then((r) => r.status)"
        )
        assert created == 201
    finally:
        await context.close()


async def test_the_users_page_adds_and_changes_staff(site: Site, browser: Any) -> None:
    context = await browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        await page.goto(f"{site.base}/ui/admin/users.html")
        await page.fill("#login-form input[name=username]", "admin")
        await page.fill("#login-form input[name=password]", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("[data-testid=users] tr[data-username=agent1001]")
        await page.fill("[data-testid=user-username]", "engineer-bj")
        await page.fill("[data-testid=user-display-name]", "北京工程师")
        await page.select_option("[data-testid=user-role]", "staff")
        await page.select_option("[data-testid=user-department]", "repair")
        await page.fill("[data-testid=user-password]", "a long password")
        await page.click("[data-testid=user-save]")
        await page.wait_for_selector("[data-testid=users] tr[data-username=engineer-bj]")
        user = await site.users.find("engineer-bj")
        assert user is not None and (user.role, user.department) == ("staff", "repair")
        row = page.locator("[data-testid=users] tr[data-username=engineer-bj]")
        await row.locator("[data-testid=user-edit]").click()
        await page.check("[data-testid=user-disabled]")
        await page.click("[data-testid=user-save]")
        await page.wait_for_selector("[data-testid=user-status]:has-text('disabled')")
        user = await site.users.find("engineer-bj")
        assert user is not None and user.disabled
        assert json.loads(json.dumps(user.to_admin_dict()))["disabled"] is True
    finally:
        await context.close()
