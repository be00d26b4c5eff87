"""``/api/users`` for admins: staff with their department and branch, every change audited,
a new password or role ends the user's sessions, an admin cannot lock themselves out."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.audit.model import AuditEvent
from ctiserver.dispatch.store import DispatchRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.unit.api_session import ApiSession
from tests.unit.test_web import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app

PASSWORD = "pw 用户 管理"


class RecordedAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, action: str, **fields: Any) -> None:
        self.events.append(AuditEvent.new(0.0, action, **fields))


@dataclasses.dataclass
class Env(ApiSession):
    password: ClassVar[str] = PASSWORD
    users: UserRepository
    audit: RecordedAudit
    server: TestServer
    branch_id: int


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    for name, role in (("admin", "admin"), ("supervisor", "supervisor"), ("agent1001", "agent")):
        await users.add(name, PASSWORD, role)
    branch = await DispatchRepository(db).add_branch("北京网点", "北京市", None, None)
    audit = RecordedAudit()
    app = build_app(Settings(), db=db, calls=FakeTracker(), ami=FakeAmi(), users=users, audit=audit)
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    yield Env(client, users, audit, server, branch.id)
    await client.close()
    await db.close()


async def test_only_admins_manage_users(env: Env) -> None:
    for name in ("supervisor", "agent1001"):
        await env.login(name)
        assert await env.call("GET", "/api/users") == (403, {"error": "admins only"})
        status, _ = await env.call("POST", "/api/users", {"username": "x", "password": "12345678", "role": "admin"})
        assert status == 403


async def test_an_admin_adds_staff_of_a_department_and_branch(env: Env) -> None:
    await env.login("admin")
    body = {"username": "engineer-bj", "password": "a long password", "role": "staff",
            "display_name": "北京工程师", "department": "repair", "branch_id": env.branch_id}
    status, answer = await env.call("POST", "/api/users", body)
    assert status == 201, answer
    assert answer["user"] | {"id": 0} == {
        "id": 0, "username": "engineer-bj", "role": "staff", "display_name": "北京工程师",
        "department": "repair", "branch_id": env.branch_id, "disabled": False,
    }
    assert (await env.call("POST", "/api/users", body))[0] == 409
    assert (await env.call("POST", "/api/users", {**body, "username": "e2", "department": "nowhere"}))[0] == 422
    assert (await env.call("POST", "/api/users", {**body, "username": "e3", "branch_id": 999}))[0] == 422
    assert (await env.call("POST", "/api/users", {**body, "username": "e4", "branch_id": 2**40}))[0] == 400
    status, listed = await env.call("GET", "/api/users")
    assert status == 200
    assert [u["username"] for u in listed["users"]] == ["admin", "agent1001", "engineer-bj", "supervisor"]
    await asyncio.sleep(0)
    added = [e for e in env.audit.events if e.action == "POST /api/users" and e.status == 201]
    assert len(added) == 1 and added[0].details is not None
    assert added[0].details["body"]["department"] == "repair"
    assert "password" not in added[0].details["body"], "the password is never audited"


async def test_a_new_password_or_role_ends_the_users_sessions(env: Env) -> None:
    agent = TestClient(env.server)
    await agent.start_server()
    try:
        assert (await agent.post("/login", json={"username": "agent1001", "password": PASSWORD})).status == 200
        await env.login("admin")
        target = await env.users.find("agent1001")
        assert target is not None
        status, answer = await env.call("PATCH", f"/api/users/{target.id}", {"display_name": "王小明"})
        assert (status, answer["changed"], answer["sessions_ended"]) == (200, ["display_name"], 0)
        assert (await agent.get("/api/me")).status == 200, "a new name keeps the session"
        status, answer = await env.call("PATCH", f"/api/users/{target.id}", {"password": "another long one"})
        assert (status, answer["changed"], answer["sessions_ended"]) == (200, ["password"], 1)
        assert (await agent.get("/api/me")).status == 401
        assert (await agent.post("/login", json={"username": "agent1001", "password": PASSWORD})).status == 401
        assert (await agent.post("/login", json={"username": "agent1001",
                                                 "password": "another long one"})).status == 200
        status, answer = await env.call("PATCH", f"/api/users/{target.id}", {"disabled": True})
        assert (status, answer["changed"], answer["sessions_ended"]) == (200, ["disabled"], 1)
        assert (await agent.get("/api/me")).status == 401
        assert (await agent.post("/login", json={"username": "agent1001",
                                                 "password": "another long one"})).status == 401
        status, answer = await env.call("PATCH", f"/api/users/{target.id}",
                                        {"role": "staff", "department": "repair", "disabled": False})
        assert status == 200 and answer["changed"] == ["role", "department", "disabled"]
        assert (await env.call("PATCH", "/api/users/99999", {"display_name": "x"}))[0] == 404
    finally:
        await agent.close()
    changes = [e for e in env.audit.events if e.action == "PATCH /api/users/{id}"]
    assert len(changes) == 5 and all(e.target_kind == "user" for e in changes)


async def test_an_admin_cannot_lock_themselves_out(env: Env) -> None:
    await env.login("admin")
    me = await env.users.find("admin")
    assert me is not None
    assert (await env.call("PATCH", f"/api/users/{me.id}", {"disabled": True}))[0] == 409
    assert (await env.call("PATCH", f"/api/users/{me.id}", {"role": "agent"}))[0] == 409
    assert (await env.call("GET", "/api/me"))[0] == 200
