"""Password guessing is slowed down to nothing; the real user still logs in from elsewhere."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import LoginFailure
from ctiserver.web.throttle import LoginThrottle, ThrottleRules
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_waits_begin_after_a_few_failures_and_double() -> None:
    clock = Clock()
    throttle = LoginThrottle(rules=ThrottleRules(per_pair=3, first_wait=1.0, max_wait=8.0), clock=clock)
    for _ in range(3):
        assert await throttle.wait("zhang", "10.0.0.1") == 0
        await throttle.failed("zhang", "10.0.0.1")
    assert await throttle.wait("zhang", "10.0.0.1") == 1.0
    assert await throttle.wait("zhang", "10.0.0.2") == 0, "another address is not held back"
    await throttle.failed("zhang", "10.0.0.1")
    assert await throttle.wait("zhang", "10.0.0.1") == 2.0
    for _ in range(10):
        await throttle.failed("zhang", "10.0.0.1")
    assert await throttle.wait("zhang", "10.0.0.1") == 8.0, "capped"
    clock.now += 5
    assert await throttle.wait("zhang", "10.0.0.1") == 3.0
    await throttle.succeeded("zhang", "10.0.0.1")
    assert await throttle.wait("zhang", "10.0.0.1") == 0


async def test_an_account_guessed_from_many_addresses_waits_a_little_for_all() -> None:
    throttle = LoginThrottle(rules=ThrottleRules(per_pair=100, per_account=5, max_account_wait=60), clock=Clock())
    for n in range(5):
        await throttle.failed("li", f"10.0.0.{n}")
    assert 0 < await throttle.wait("li", "10.0.9.9") <= 60, "short: its owner is not locked out"
    assert await throttle.wait("wang", "10.0.0.1") == 0, "another account is not held back"


async def test_failures_for_made_up_names_hold_back_no_real_user() -> None:
    throttle = LoginThrottle(clock=Clock())
    for n in range(500):
        await throttle.failed(f"nobody{n}", "127.0.0.1")
    assert await throttle.wait("supervisor", "127.0.0.1") == 0


async def test_failures_are_forgotten_after_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(rules=ThrottleRules(per_pair=1, window=60), clock=clock)
    await throttle.failed("li", "10.0.0.1")
    assert await throttle.wait("li", "10.0.0.1") > 0
    clock.now += 61
    assert await throttle.wait("li", "10.0.0.1") == 0
    await throttle.failed("zhao", "10.0.0.1")
    assert set(throttle.failures.rows) == {"account:zhao", "pair:10.0.0.1 zhao"}  # type: ignore[attr-defined]


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


async def _server(tmp_path: Path, **web: object) -> tuple[TestServer, Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    if await users.find("supervisor") is None:
        await users.add("supervisor", "the right password", "supervisor")
    app = build_app(Settings().replace(web=web), db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, db


async def _failure_keys(db: Database) -> set[str]:
    async with db.session() as session:
        return set(await session.scalars(select(LoginFailure.key)))


async def test_behind_the_proxy_made_up_names_never_lock_out_the_supervisor(tmp_path: Path) -> None:
    """Every client comes from the proxy (127.0.0.1, trusted): 50 failures with made-up names,
    then the supervisor's correct password works at once."""
    server, db = await _server(tmp_path, trusted_proxies=("127.0.0.1",))
    login = str(server.make_url("/login"))
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(50):
                forwarded = {"X-Forwarded-For": f"203.0.113.{n % 5}"}
                response = await http.post(login, json={"username": f"nobody{n}", "password": "x"}, headers=forwarded)
                assert response.status == 401
            response = await http.post(
                login, json={"username": "supervisor", "password": "the right password"},
                headers={"X-Forwarded-For": "198.51.100.7"},
            )
            assert response.status == 200
            # the client's address, not the proxy's, is what was counted
            keys = await _failure_keys(db)
            assert "pair:203.0.113.4 nobody49" in keys
            assert not any("127.0.0.1" in key for key in keys)
    finally:
        await server.close()
        await db.close()


async def test_a_forged_forwarded_for_from_an_untrusted_address_changes_nothing(tmp_path: Path) -> None:
    server, db = await _server(tmp_path, trusted_proxies=("10.9.9.9",))
    login = str(server.make_url("/login"))
    try:
        async with aiohttp.ClientSession() as attacker:
            statuses = []
            for n in range(7):
                response = await attacker.post(
                    login, json={"username": "supervisor", "password": f"guess{n}"},
                    headers={"X-Forwarded-For": f"192.0.2.{n}"},  # a new address each time, it claims
                )
                statuses.append(response.status)
        assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses
        keys = await _failure_keys(db)
        assert "pair:127.0.0.1 supervisor" in keys
        assert not any("192.0.2." in key for key in keys)
    finally:
        await server.close()
        await db.close()


async def test_the_counts_are_shared_by_the_servers_of_one_database(tmp_path: Path) -> None:
    first, db1 = await _server(tmp_path)
    second, db2 = await _server(tmp_path)
    try:
        async with aiohttp.ClientSession() as attacker:
            for n in range(5):
                response = await attacker.post(
                    str(first.make_url("/login")), json={"username": "supervisor", "password": f"guess{n}"}
                )
                assert response.status == 401
            response = await attacker.post(
                str(second.make_url("/login")), json={"username": "supervisor", "password": "guess5"}
            )
            assert response.status == 429
    finally:
        for server, db in ((first, db1), (second, db2)):
            await server.close()
            await db.close()
