"""The agent-desktop API tests' environment: the demo data seeded into a migrated SQLite
database and the web app with fakes of the desk, the wallboard and the user channel
(tests/unit/test_desk_api.py and the other API tests use it)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from ctiserver.agents.protocols import DeskError
from ctiserver.lab.demo import seed_demo
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import User
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.api_session import ApiSession
from tests.unit.web_app import build_app

PASSWORD = "lab 口令"
SUPERVISORS = ["supervisor", "admin"]
EVERYONE = ["agent1001", "supervisor", "admin"]


def agent_dict(extension: str, name: str, state: str = "logged_out") -> dict[str, Any]:
    return {
        "extension": extension, "name": name, "interface": f"PJSIP/{extension}",
        "state": state, "since": "2026-11-22T08:00:00.000+00:00", "reason": None,
        "paused_by": None, "queues": [], "call_id": None,
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
        return self._change(user_id, state="paused", reason=reason, paused_by=None)

    async def ready(self, user_id: int) -> dict[str, Any]:
        self.actions.append(("ready", user_id))
        return self._change(user_id, state="ready", reason=None, paused_by=None)

    async def hangup(self, user_id: int) -> dict[str, Any]:
        self.actions.append(("hangup", user_id))
        if self.agents[user_id]["state"] != "on_call":
            raise DeskError(409, "you have no call to hang up")
        return self._change(user_id, state="wrap_up")

    async def supervise(
        self, extension: str, action: str, reason: str | None = None, by: str | None = None,
    ) -> dict[str, Any]:
        user_id = next((uid for uid, a in self.agents.items() if a["extension"] == extension), None)
        if user_id is None:
            raise DeskError(404, f"no agent at extension {extension}")
        if action == "pause":
            await self.pause(user_id, reason or "other")
            return self._change(user_id, paused_by=by)
        return await (self.ready(user_id) if action == "ready" else self.logout(user_id))


class FakeWallboard:
    def __init__(self) -> None:
        wallboard_agent = agent_dict("1001", "王小明", "ready")
        del wallboard_agent["call_id"]  # the wallboard's agents have no call
        del wallboard_agent["paused_by"]  # nor who paused them
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
