"""Issue 18 acceptance: twenty complaint calls through the real IVR on real Asterisk while
an admin uploads a 20,000-row customer file to the same server on SQLite: every call's
complaint ticket is opened (the import takes turns with the ticket writers), and every
row of the file is imported or reported.

One lab; the calls go in two waves of ten while the import writes. The complaint cycle
(the caller's key to the ticket in the database) is printed, not asserted (bench/ is
where speed is measured)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from ctiserver.customers.tables import Customer
from ctiserver.lab.caller import IvrCaller, set_global
from ctiserver.lab.runner import Lab
from ctiserver.tickets.store import TicketRepository
from tests.integration.conftest import LabFactory, eventually, lab_settings
from tests.integration.ivr_driver import OPEN_HOURS
from tests.integration.test_ivr_hotline import HOTLINE

pytestmark = pytest.mark.integration

ROWS = 20_000
CALLS = 20
WAVE = 10
#: rows the file refuses (a bad phone), each reported by its line
BAD_EVERY = 1_000


def customer_file() -> bytes:
    lines = ["姓名,电话,省,市,详细地址,型号,序列号"]
    for n in range(ROWS):
        phone = "12345" if n % BAD_EVERY == 7 else f"137{n:08d}"
        lines.append(f"导入客户{n},{phone},广东省,深圳市,科技园{n}号,KFR-35GW/BP3DN8Y,IMP{n:07d}")
    return ("\n".join(lines) + "\n").encode("gb18030")


async def complaint_call(lab: Lab, n: int) -> tuple[str, float]:
    """Dial, choose 中文 then complaint, wait for the complaint queue; the call id and
    the seconds from the complaint key to the caller joining the queue (the ticket is
    opened in between)."""
    caller = await IvrCaller.dial(lab, f"1310000{n:04d}", f"投诉人{n}")
    await caller.press("1")
    started = time.perf_counter()
    await caller.press("2")
    await caller.queue_entry("complaint")
    took = time.perf_counter() - started
    await caller.hang_up()
    return caller.call_id, took


async def test_complaint_calls_during_a_20000_row_import_all_get_their_ticket(
    make_lab: LabFactory, tmp_path: Path
) -> None:
    lab = await make_lab(lab_settings(tmp_path, flow=HOTLINE, lab={"hours": "flow"}))
    assert lab.server is not None
    server = lab.server
    server.ivr.engine.clock = lambda: OPEN_HOURS
    await set_global(lab, "LAB_ANSWER_DELAY", "60")  # callers stay in the queue
    assert server.db.engine.dialect.name == "sqlite"
    async with server.db.session() as session:
        before = await session.scalar(select(func.count()).select_from(Customer)) or 0

    base = f"http://127.0.0.1:{server.web_port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as web:
        login = await web.post(f"{base}/login", json={"username": "admin", "password": lab.settings.lab.demo_password},
                               headers={"Origin": base})
        assert login.status == 200, await login.text()

        async def upload() -> dict[str, Any]:
            async with web.post(f"{base}/api/import/customers", data=customer_file(),
                                headers={"Content-Type": "text/csv", "Origin": base},
                                timeout=aiohttp.ClientTimeout(total=900)) as response:
                assert response.status == 200, await response.text()
                return dict(await response.json())

        importing = asyncio.create_task(upload())

        async def writing() -> int | None:  # the import has begun to write
            async with server.db.session() as session:
                count = await session.scalar(select(func.count()).select_from(Customer)) or 0
            return count if count > before or importing.done() else None

        await eventually(writing, 300, "the import to start writing")
        assert not importing.done(), "the import ended before the calls began"
        calls: list[tuple[str, float]] = []
        for wave in range(0, CALLS, WAVE):
            calls += await asyncio.gather(*(complaint_call(lab, n) for n in range(wave, wave + WAVE)))
        still_importing = not importing.done()
        result = await importing

    tickets = TicketRepository(server.db)
    opened = {call_id: await tickets.list_for_call(call_id) for call_id, _ in calls}
    assert {call_id: [t.type for t in found] for call_id, found in opened.items()} == {
        call_id: ["complaint"] for call_id, _ in calls}
    assert result["accepted"] + result["rejected"] == ROWS
    assert result["rejected"] == ROWS // BAD_EVERY
    assert [p["line"] for p in result["problems"]] == [n + 2 for n in range(ROWS) if n % BAD_EVERY == 7]
    async with server.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == before + result["customers"]
    cycle = sorted(took for _, took in calls)
    print(f"\n{CALLS} complaint calls during a {ROWS}-row import (import still running after the last: "
          f"{still_importing}): key to queue median {statistics.median(cycle):.2f} s, "
          f"max {cycle[-1]:.2f} s")
