"""Websocket routing: call updates to supervisors and admins, pops and agent state per user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSCloseCode

from ctiserver.web.hub import LiveHub
from ctiserver.web.keys import HUB_KEY
from tests.support.desk import DeskEnv, agent_dict, desk_env
from tests.support.web_fakes import T0, XSS, FakeCall, FakeUpdate, SlowSocket

WALLBOARD = {"type": "wallboard", "wallboard": {"queues": [], "agents": []}}


def pop(event: str, call_id: str, caller_name: str = "张伟") -> dict[str, Any]:
    return {"type": "pop", "event": event,
            "pop": {"call_id": call_id, "caller_number": "13800138000",
                    "caller_name": caller_name, "customers": []}}


def marker(n: int) -> dict[str, Any]:
    """Sent last: whatever should not have arrived would have come before it."""
    return {"type": "marker", "n": n}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk


async def connect(env: DeskEnv, username: str) -> ClientWebSocketResponse:
    await env.login(username)
    return await env.client.ws_connect("/ws")


async def receive(ws: ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive_json(timeout=5)
    assert isinstance(message, dict)
    return message


def hub(env: DeskEnv) -> LiveHub:
    return env.app[HUB_KEY]


async def test_agent_gets_its_agent_its_pops_and_nothing_else(env: DeskEnv) -> None:
    me, other = env.user_ids["agent1001"], env.user_ids["agent1002"]
    env.tracker.emit("started", FakeCall("1.1", "13800138000", "张伟"))
    ws = await connect(env, "agent1001")
    hello = await receive(ws)
    assert hello["type"] == "hello" and hello["user"]["username"] == "agent1001"
    assert hello["agent"] == agent_dict("1001", "王小明")

    env.tracker.emit("updated", FakeCall("1.1", "13800138000", "张伟"))
    hub(env).to_user(other, pop("ringing", "2.2"))
    hub(env).to_roles({"supervisor", "admin"}, WALLBOARD)
    hub(env).to_user(me, pop("ringing", "1.1", XSS))
    hub(env).to_user(me, {"type": "agent", "agent": agent_dict("1001", "王小明", "ringing")})
    hub(env).to_user(me, marker(1))

    raw = await ws.receive_str(timeout=5)
    assert XSS in raw and "张伟" not in raw  # only its own pop; text as is, in JSON
    assert await receive(ws) == {
        "type": "agent", "agent": agent_dict("1001", "王小明", "ringing")
    }
    assert await receive(ws) == marker(1)  # no calls snapshot, no call update, no wallboard
    await ws.close()


async def test_every_socket_of_a_user_gets_its_messages(env: DeskEnv) -> None:
    me = env.user_ids["agent1001"]
    await env.login("agent1001")  # once: a second login would end the first socket's session
    sockets = [await env.client.ws_connect("/ws") for _ in range(2)]
    for ws in sockets:
        assert (await receive(ws))["type"] == "hello"
    hub(env).to_user(me, pop("answered", "1.1"))
    for ws in sockets:
        assert await receive(ws) == pop("answered", "1.1")
        await ws.close()


async def test_greeting_comes_right_after_hello(env: DeskEnv) -> None:
    me = env.user_ids["agent1001"]
    env.channel.greetings[me] = [pop("ringing", "1.1")]
    env.channel.greetings[env.user_ids["agent1002"]] = [pop("ringing", "2.2")]
    env.tracker.emit("started", FakeCall("1.1", "13800138000", "张伟"))
    ws = await connect(env, "agent1001")
    assert (await receive(ws))["type"] == "hello"
    assert await receive(ws) == pop("ringing", "1.1")
    hub(env).to_user(me, marker(1))
    assert await receive(ws) == marker(1)
    await ws.close()


async def test_messages_during_the_agent_lookup_wait_behind_the_greeting(env: DeskEnv) -> None:
    me = env.user_ids["agent1001"]
    env.channel.greetings[me] = [pop("ringing", "1.1")]
    env.desk.entered, env.desk.release = asyncio.Event(), asyncio.Event()
    await env.login("agent1001")
    connecting = asyncio.create_task(env.client.ws_connect("/ws"))
    await asyncio.wait_for(env.desk.entered.wait(), 5)
    hub(env).to_user(me, pop("answered", "1.1"))  # the socket is attached, hello not sent
    env.desk.release.set()
    ws = await connecting
    hello = await receive(ws)
    assert hello["type"] == "hello" and hello["agent"]["extension"] == "1001"
    assert await receive(ws) == pop("ringing", "1.1")
    assert await receive(ws) == pop("answered", "1.1")
    await ws.close()


@pytest.mark.parametrize("username", ["supervisor", "admin"])
async def test_supervisors_get_calls_and_the_wallboard(env: DeskEnv, username: str) -> None:
    user_id = env.user_ids[username]
    env.channel.greetings[user_id] = [pop("ringing", "9.9")]
    env.tracker.emit("started", FakeCall("1.1", "13800138000", "张伟"))
    ws = await connect(env, username)

    hello = await receive(ws)
    assert hello["type"] == "hello" and hello["user"]["username"] == username
    # the supervisor has an agent of their own in the fake desk, the admin none
    assert hello["agent"] == (agent_dict("1099", "值班主管") if username == "supervisor" else None)
    expected = FakeCall("1.1", "13800138000", "张伟").to_dict(T0)
    snapshot = await receive(ws)
    assert snapshot["type"] == "calls" and [c["id"] for c in snapshot["calls"]] == [expected["id"]]
    assert await receive(ws) == pop("ringing", "9.9")

    env.tracker.emit("ended", FakeCall("1.1", "13800138000", "张伟", state="ended"))
    hub(env).to_user(env.user_ids["agent1001"], pop("ringing", "2.2"))
    hub(env).to_roles({"supervisor", "admin"}, WALLBOARD)
    hub(env).to_roles({"agent"}, marker(0))
    hub(env).to_user(user_id, marker(1))

    update = await receive(ws)
    assert (update["type"], update["event"], update["call"]["id"]) == ("call", "ended", "1.1")
    assert await receive(ws) == WALLBOARD
    assert await receive(ws) == marker(1)  # not another user's pop, not the agents' message
    await ws.close()


async def test_to_user_overflow_drops_only_that_client() -> None:
    hub = LiveHub(clock=lambda: T0, queue_size=2)
    agent_ws, supervisor_ws = SlowSocket(), SlowSocket()
    agent = hub.attach(agent_ws, user_id=1, role="agent")  # type: ignore[arg-type]
    supervisor = hub.attach(supervisor_ws, user_id=2, role="supervisor")  # type: ignore[arg-type]
    assert agent.queue.qsize() == 0 and supervisor.queue.qsize() == 1  # the calls snapshot

    for n in range(3):
        hub.to_user(1, marker(n))
    await asyncio.sleep(0)
    assert agent_ws.closed_with == WSCloseCode.TRY_AGAIN_LATER
    assert supervisor_ws.closed_with is None

    hub.publish(FakeUpdate("updated", FakeCall("1.1", "1001", "测试")))
    hub.to_user(1, marker(9))
    assert agent.queue.qsize() == 2  # no longer fed
    assert supervisor.queue.qsize() == 2


def test_undeliverable_messages_are_logged_not_raised() -> None:
    hub = LiveHub(clock=lambda: T0)
    hub.to_user(1, {"type": "bad", "value": object()})
    hub.to_roles({"admin"}, {"type": "bad", "value": object()})
