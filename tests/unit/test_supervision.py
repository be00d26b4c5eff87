"""Long-lived tasks are supervised: one that raises is logged, started again after a
back-off, and /healthz says the part is degraded until it has run well for a while."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.calls.model import CallTracker
from ctiserver.core import Core
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.supervision import SupervisedTask
from ctiserver.telephony.agi.server import AgiServer
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.users.store import UserRepository
from ctiserver.web.keys import HUB_KEY, PARTS_KEY
from tests.support.web_fakes import FAST_HASHER, FakeAmi
from tests.unit.web_app import build_app


async def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


class Flaky:
    """Raises on its first ``failures`` runs, then runs until cancelled."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise RuntimeError(f"boom {self.runs}")
        await asyncio.Event().wait()


async def test_a_task_that_raises_is_logged_restarted_and_heals(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(failures=2)
    task = SupervisedTask("flaky", flaky, first_delay=0.01, max_delay=0.05, healthy_after=0.2)
    with caplog.at_level(logging.ERROR, logger="ctiserver.supervision"):
        running = asyncio.create_task(task.run_forever())
        await wait_for(lambda: flaky.runs == 3)
    assert task.health.restarts == 2
    assert task.health.last_error == "RuntimeError: boom 2"
    assert task.health.state == "degraded"
    assert [r.exc_info is not None for r in caplog.records] == [True, True]
    assert "task flaky failed" in caplog.records[0].getMessage()
    await wait_for(lambda: task.health.state == "ok")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def test_a_task_that_returns_is_started_again() -> None:
    runs = 0

    async def returns() -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            await asyncio.Event().wait()

    task = SupervisedTask("returns", returns, first_delay=0.01)
    running = asyncio.create_task(task.run_forever())
    await wait_for(lambda: runs == 2)
    assert task.health.restarts == 1 and "returned" in (task.health.last_error or "")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def test_healthz_shows_a_failing_part(tmp_path: Path) -> None:
    settings = Settings().replace(database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"})
    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    calls = CallTracker()
    app = build_app(settings, db=db, calls=calls, ami=FakeAmi())
    core = Core(settings, db, AmiLink(settings.ami), AgiServer(settings.agi), calls, app, app[HUB_KEY])
    app[PARTS_KEY] = core
    flaky = Flaky(failures=1)
    core.long_running("wallboard", flaky)
    await core.start_features()
    try:
        await UserRepository(db, FAST_HASHER).add("admin", "pw-admin", "admin")
        async with TestClient(TestServer(app)) as client:
            await client.post("/login", json={"username": "admin", "password": "pw-admin"})
            await wait_for(lambda: flaky.runs == 2)
            health = await (await client.get("/healthz")).json()
            assert health["status"] == "degraded"
            part = health["parts"]["wallboard"]
            assert part["state"] in ("restarting", "degraded")
            assert part["restarts"] == 1 and part["last_error"] == "RuntimeError: boom 1"
    finally:
        await core.stop_features()
        await db.close()
