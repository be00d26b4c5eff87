"""Password guessing is slowed down to nothing; the real user still logs in from elsewhere."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.web.throttle import LoginThrottle, ThrottleRules
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_begin_after_a_few_failures_and_double() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleRules(per_user=3, first_wait=1.0, max_wait=8.0), clock)
    for _ in range(3):
        assert throttle.wait("zhang", "10.0.0.1") == 0
        throttle.failed("zhang", "10.0.0.1")
    assert throttle.wait("zhang", "10.0.0.1") == 1.0
    assert throttle.wait("zhang", "10.0.0.2") == 0, "another address is not held back"
    throttle.failed("zhang", "10.0.0.1")
    assert throttle.wait("zhang", "10.0.0.1") == 2.0
    for _ in range(10):
        throttle.failed("zhang", "10.0.0.1")
    assert throttle.wait("zhang", "10.0.0.1") == 8.0, "capped"
    clock.now += 5
    assert throttle.wait("zhang", "10.0.0.1") == 3.0
    throttle.succeeded("zhang", "10.0.0.1")
    assert throttle.wait("zhang", "10.0.0.1") == 0


def test_an_address_guessing_many_users_is_slowed_for_all() -> None:
    throttle = LoginThrottle(ThrottleRules(per_user=100, per_address=5), Clock())
    for n in range(5):
        throttle.failed(f"user{n}", "10.0.0.9")
    assert throttle.wait("somebody-else", "10.0.0.9") > 0
    assert throttle.wait("somebody-else", "10.0.0.8") == 0


def test_failures_are_forgotten_after_the_window_and_keys_are_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleRules(per_user=1, window=60, max_keys=10), clock)
    throttle.failed("li", "10.0.0.1")
    assert throttle.wait("li", "10.0.0.1") > 0
    clock.now += 61
    assert throttle.wait("li", "10.0.0.1") == 0
    for n in range(100):
        throttle.failed(f"u{n}", f"10.0.1.{n}")
    assert len(throttle._failures) <= 10


async def test_200_wrong_passwords_in_a_minute_are_refused_but_not_the_user_elsewhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("supervisor", "the right password", "supervisor")
    app = build_app(Settings(), db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    login = str(server.make_url("/login"))
    statuses: list[int] = []
    try:
        with caplog.at_level(logging.WARNING, logger="ctiserver.web.auth"):
            async with aiohttp.ClientSession() as attacker:
                for n in range(200):
                    response = await attacker.post(login, json={"username": "supervisor", "password": f"guess{n}"})
                    statuses.append(response.status)
                refused = await attacker.post(login, json={"username": "supervisor", "password": "the right password"})
                assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
        assert statuses[:5] == [401] * 5
        assert statuses[5:].count(429) >= 190, "after a few failures, guesses are refused unchecked"
        assert any("failed login for 'supervisor' from 127.0.0.1" in r.getMessage() for r in caplog.records)
        # the real user, from another address
        other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=other) as user:
            response = await user.post(login, json={"username": "supervisor", "password": "the right password"})
            assert response.status == 200
    finally:
        await server.close()
        await db.close()
