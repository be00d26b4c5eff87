"""Agent actions over HTTP (/api/agent), against fakes of the desk, wallboard and user channel.

The environment the agent-desktop API tests share (the demo data seeded into a migrated
SQLite database, an app with the three fakes) is in tests/support/desk.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.web.handling import MAX_BODY
from tests.support.desk import (  # noqa: F401  (also imported from here by tests written before the move)
    EVERYONE,
    PASSWORD,
    SUPERVISORS,
    DeskEnv,
    FakeChannel,
    FakeDesk,
    FakeWallboard,
    agent_dict,
    desk_env,
    user_ids,
)
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk


ROUTES = [
    ("GET", "/api/agent", None),
    ("POST", "/api/agent/login", {"queues": ["support"]}),
    ("POST", "/api/agent/logout", None),
    ("POST", "/api/agent/pause", {"reason": "lunch"}),
    ("POST", "/api/agent/ready", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_agent_actions_need_a_session(
    env: DeskEnv, method: str, path: str, body: Any
) -> None:
    assert await env.call(method, path, body) == (401, {"error": "login required"})


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_a_user_without_an_agent_gets_404(
    env: DeskEnv, method: str, path: str, body: Any
) -> None:
    await env.login("admin")
    assert await env.call(method, path, body) == (404, {"error": "no agent for this user"})
    assert env.desk.actions == []


async def test_get_agent(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert await env.call("GET", "/api/agent") == (200, {"agent": agent_dict("1001", "王小明")})


async def test_login_pause_ready_logout(env: DeskEnv) -> None:
    await env.login("agent1001")
    uid = env.user_ids["agent1001"]

    status, body = await env.call("POST", "/api/agent/login", {"queues": ["support"]})
    assert status == 200
    assert body["agent"]["state"] == "ready" and body["agent"]["queues"] == ["support"]
    assert body["agent"]["extension"] == "1001" and body["agent"]["name"] == "王小明"

    status, body = await env.call("POST", "/api/agent/pause", {"reason": "after_call_work"})
    assert status == 200
    assert (body["agent"]["state"], body["agent"]["reason"]) == ("paused", "after_call_work")

    status, body = await env.call("POST", "/api/agent/ready")
    assert status == 200 and body["agent"]["state"] == "ready" and body["agent"]["reason"] is None

    status, body = await env.call("POST", "/api/agent/logout")
    assert status == 200 and body["agent"]["state"] == "logged_out"
    assert env.desk.actions == [
        ("login", uid, ["support"]), ("pause", uid, "after_call_work"), ("ready", uid),
        ("logout", uid),
    ]


async def test_login_without_a_body_uses_the_default_queues(env: DeskEnv) -> None:
    await env.login("agent1002")
    response = await env.client.post("/api/agent/login")
    assert response.status == 200
    assert (await response.json())["agent"]["queues"] == ["support", "repair"]
    assert env.desk.actions == [("login", env.user_ids["agent1002"], None)]


async def test_a_supervisor_acts_on_their_own_agent(env: DeskEnv) -> None:
    await env.login("supervisor")
    status, body = await env.call("POST", "/api/agent/login", {})
    assert status == 200 and body["agent"]["extension"] == "1099"
    assert env.desk.actions == [("login", env.user_ids["supervisor"], None)]


@pytest.mark.parametrize(
    "body", [{"queues": "support"}, {"queues": []}, {"queues": [1]}, {"queues": [""]}, [1]]
)
async def test_login_refuses_bad_queues(env: DeskEnv, body: Any) -> None:
    await env.login("agent1001")
    status, answer = await env.call("POST", "/api/agent/login", body)
    assert status == 400 and "error" in answer
    assert env.desk.actions == []


@pytest.mark.parametrize("body", [{"reason": "coffee"}, {}, {"reason": None}])
async def test_pause_refuses_unknown_reasons(env: DeskEnv, body: Any) -> None:
    await env.login("agent1001")
    status, answer = await env.call("POST", "/api/agent/pause", body)
    assert status == 400 and "lunch" in answer["error"]
    assert env.desk.actions == []


async def test_desk_errors_keep_their_status_and_message(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert await env.call("POST", "/api/agent/pause", {"reason": "lunch"}) == (
        409, {"error": "log in before pausing"}
    )
    assert await env.call("POST", "/api/agent/login", {"queues": ["nosuch"]}) == (
        400, {"error": "unknown queue nosuch"}
    )


async def test_malformed_and_oversized_bodies(env: DeskEnv) -> None:
    await env.login("agent1001")
    response = await env.client.post(
        "/api/agent/pause", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400 and await response.json() == {"error": "malformed JSON"}
    huge = {"reason": "lunch", "padding": "x" * MAX_BODY}
    status, answer = await env.call("POST", "/api/agent/pause", huge)
    assert status == 413 and "error" in answer
    assert env.desk.actions == []


async def test_without_a_desk_there_are_no_agent_routes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("agent1001", PASSWORD, "agent")
    app = build_app(Settings(), db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    async with TestClient(TestServer(app)) as client:
        await client.post("/login", json={"username": "agent1001", "password": PASSWORD})
        assert (await client.get("/api/agent")).status == 404
        assert (await client.get("/api/wallboard")).status == 404
    await db.close()


@pytest.mark.parametrize("username", SUPERVISORS)
async def test_wallboard_for_supervisors_and_admins(env: DeskEnv, username: str) -> None:
    await env.login(username)
    assert await env.call("GET", "/api/wallboard") == (200, env.wallboard.snapshot())


async def test_wallboard_refuses_agents_and_strangers(env: DeskEnv) -> None:
    assert await env.call("GET", "/api/wallboard") == (401, {"error": "login required"})
    await env.login("agent1001")
    status, body = await env.call("GET", "/api/wallboard")
    assert status == 403 and "error" in body


async def test_a_supervisor_pauses_readies_and_logs_out_another_agent(env: DeskEnv) -> None:
    agent = env.user_ids["agent1001"]
    await env.login("agent1001")
    assert (await env.call("POST", "/api/agent/login", {}))[0] == 200
    # an agent may not act on a colleague
    assert await env.call("POST", "/api/agents/1002/pause", {"reason": "meeting"}) == (
        403, {"error": "supervisors and admins only"}
    )
    await env.login("supervisor")
    status, body = await env.call("POST", "/api/agents/1001/pause", {"reason": "meeting"})
    assert status == 200 and body["agent"]["state"] == "paused" and body["agent"]["reason"] == "meeting"
    assert (await env.call("POST", "/api/agents/1001/pause", {"reason": "nap"}))[0] == 400
    assert (await env.call("POST", "/api/agents/1001/ready"))[1]["agent"]["state"] == "ready"
    assert (await env.call("POST", "/api/agents/1001/logout"))[1]["agent"]["state"] == "logged_out"
    assert await env.call("POST", "/api/agents/7777/ready") == (404, {"error": "no agent at extension 7777"})
    assert env.desk.actions[-3:] == [("pause", agent, "meeting"), ("ready", agent), ("logout", agent)]
