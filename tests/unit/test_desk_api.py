"""Agent actions over HTTP (/api/agent), against fakes of the desk, wallboard and user channel.

Also home of the environment the other agent-desktop API tests share: the demo data
seeded into a migrated SQLite database and an app with the three fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from ctiserver.agents.protocols import DeskError
from ctiserver.lab.demo import seed_demo
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import User
from ctiserver.web.handling import MAX_BODY
from tests.unit.api_session import ApiSession
from tests.unit.test_web import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app

PASSWORD = "lab 口令"
SUPERVISORS = ["supervisor", "admin"]
EVERYONE = ["agent1001", "supervisor", "admin"]


def agent_dict(extension: str, name: str, state: str = "logged_out") -> dict[str, Any]:
    return {
        "extension": extension, "name": name, "interface": f"PJSIP/{extension}",
        "state": state, "since": "2026-11-22T08:00:00.000+00:00", "reason": None,
        "queues": [], "call_id": None,
    }


class FakeDesk:
    """Agents by user id; refuses to pause a logged-out agent, like the real desk."""

    def __init__(self, agents: dict[int, dict[str, Any]]) -> None:
        self.agents = agents
        self.actions: list[tuple[Any, ...]] = []
        #: when set, ``agent`` says it was entered and waits for ``release`` (websocket tests)
        self.entered: asyncio.Event | None = None
        self.release: asyncio.Event | None = None

    async def agent(self, user_id: int) -> dict[str, Any] | None:
        if self.entered is not None and self.release is not None:
            self.entered.set()
            await self.release.wait()
        agent = self.agents.get(user_id)
        return None if agent is None else copy.deepcopy(agent)

    def _change(self, user_id: int, **changes: Any) -> dict[str, Any]:
        agent = self.agents[user_id]
        agent.update(changes)
        return copy.deepcopy(agent)

    async def login(self, user_id: int, queues: list[str] | None = None) -> dict[str, Any]:
        self.actions.append(("login", user_id, queues))
        if queues and "nosuch" in queues:
            raise DeskError(400, "unknown queue nosuch")
        return self._change(user_id, state="ready", queues=queues or ["support", "repair"])

    async def logout(self, user_id: int) -> dict[str, Any]:
        self.actions.append(("logout", user_id))
        return self._change(user_id, state="logged_out", queues=[], reason=None)

    async def pause(self, user_id: int, reason: str) -> dict[str, Any]:
        self.actions.append(("pause", user_id, reason))
        if self.agents[user_id]["state"] == "logged_out":
            raise DeskError(409, "log in before pausing")
        return self._change(user_id, state="paused", reason=reason)

    async def ready(self, user_id: int) -> dict[str, Any]:
        self.actions.append(("ready", user_id))
        return self._change(user_id, state="ready", reason=None)

    async def hangup(self, user_id: int) -> dict[str, Any]:
        self.actions.append(("hangup", user_id))
        if self.agents[user_id]["state"] != "on_call":
            raise DeskError(409, "you have no call to hang up")
        return self._change(user_id, state="wrap_up")

    async def supervise(self, extension: str, action: str, reason: str | None = None) -> dict[str, Any]:
        user_id = next((uid for uid, a in self.agents.items() if a["extension"] == extension), None)
        if user_id is None:
            raise DeskError(404, f"no agent at extension {extension}")
        if action == "pause":
            return await self.pause(user_id, reason or "other")
        return await (self.ready(user_id) if action == "ready" else self.logout(user_id))


class FakeWallboard:
    def __init__(self) -> None:
        wallboard_agent = agent_dict("1001", "王小明", "ready")
        del wallboard_agent["call_id"]  # the wallboard's agents have no call
        self.board: dict[str, Any] = {
            "at": "2026-11-22T08:00:00.000+00:00",
            "queues": [{"name": "support", "waiting": 1, "longest_wait": 12.5, "offered": 10,
                        "answered": 8, "abandoned": 1, "answered_within_sl": 7,
                        "service_level": 0.875}],
            "agents": [{**wallboard_agent, "seconds_in_state": 30.0}],
            "waiting_calls": [{"call_id": "1.5", "caller_number": "13800138000",
                               "caller_name": "张伟", "queue": "support",
                               "waiting_seconds": 12.5}],
            "recent_calls": [],
        }

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.board)


class FakeChannel:
    def __init__(self) -> None:
        self.greetings: dict[int, list[dict[str, Any]]] = {}

    def greeting_for(self, user_id: int) -> list[dict[str, Any]]:
        return list(self.greetings.get(user_id, []))


@dataclasses.dataclass
class DeskEnv(ApiSession):
    password: ClassVar[str] = PASSWORD
    app: web.Application
    db: Database
    tracker: FakeTracker
    desk: FakeDesk
    wallboard: FakeWallboard
    channel: FakeChannel
    user_ids: dict[str, int]


async def user_ids(db: Database) -> dict[str, int]:
    """Username -> id of every user in the database."""
    async with db.session() as session:
        return {name: uid for uid, name in await session.execute(select(User.id, User.username))}


@contextlib.asynccontextmanager
async def desk_env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    """The demo data; agent1001, agent1002 and the supervisor have agents, the admin none."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    ids = await user_ids(db)
    desk = FakeDesk(
        {
            ids["agent1001"]: agent_dict("1001", "王小明"),
            ids["agent1002"]: agent_dict("1002", "李红"),
            ids["supervisor"]: agent_dict("1099", "值班主管"),
        }
    )
    tracker, wallboard, channel = FakeTracker(), FakeWallboard(), FakeChannel()
    settings = Settings().replace(web={"session_secret": "desk test secret"}, webrtc={"enabled": True})
    app = build_app(
        settings, db=db, calls=tracker, ami=FakeAmi(), users=UserRepository(db, FAST_HASHER),
        desk=desk, wallboard=wallboard, user_channel=channel,
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield DeskEnv(client, app, db, tracker, desk, wallboard, channel, ids)
    finally:
        await client.close()
        await db.close()


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
