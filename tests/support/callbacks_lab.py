"""The callback tests' lab: settings with the dialler on and no agent logged in, an agent's
desk websocket, and the callers, tasks and legs they look at (tests/integration/test_callbacks*.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ctiserver.callbacks.store import CallbackInfo, CallbackRepository
from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.settings import Settings
from tests.integration.conftest import STRAIGHT_TO_QUEUE, WebClient, lab_settings

CUSTOMER = "13800138000"


def callback_settings(tmp_path: Path, *, flow: str = STRAIGHT_TO_QUEUE, **callbacks: Any) -> Settings:
    """No agent logged in at start; callbacks dialled at any hour; an abandon after 2 s counts."""
    base = lab_settings(tmp_path, flow=flow, lab={"login_agents": False},
                        callbacks={"dial": True, "dial_interval": 0.3, **callbacks})
    queues = tuple(dataclasses.replace(q, callback_after_wait=2, hours="") for q in base.hotline.queues)
    return base.replace(hotline={"queues": queues})


class Desk:
    """Agent 1001's websocket: what the server pushes to their desk."""

    def __init__(self, client: WebClient, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.client, self.ws = client, ws
        self.messages: list[dict[str, Any]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(message.json())

    def offers(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "callback_offer" and m["event"] == event]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await self.client.close()


@pytest.fixture
async def desk_of() -> AsyncIterator[Any]:
    desks: list[Desk] = []

    async def open_desk(lab: Lab, username: str = "agent1001") -> Desk:
        client = WebClient(lab)
        response = await client.login(username, lab.settings.lab.demo_password)
        assert response.status == 200
        ws = await client.session.ws_connect(client.base.replace("http", "ws") + "/ws")
        desk = Desk(client, ws)
        desks.append(desk)
        return desk

    yield open_desk
    for desk in desks:
        await desk.close()


async def abandon(lab: Lab, number: str, wait: float) -> str:
    """A caller queues with nobody to answer and hangs up after ``wait`` seconds."""
    return await place_call(lab, LabCall(number, dtmf_delay=0.1, hangup_after=wait))


async def tasks(lab: Lab, number: str) -> list[CallbackInfo]:
    assert lab.server is not None
    store: CallbackRepository = lab.server.callbacks.store
    return await store.search(number=number)


async def login(lab: Lab, extension: str) -> None:
    assert lab.server is not None
    record = next(r for r in await lab.server.agents.all() if r.extension == extension)
    assert record.user_id is not None
    await lab.server.desk.login(record.user_id)


def customer_legs(lab: Lab, number: str) -> list[tuple[str, str, str | None]]:
    """(call id, the call's first leg, the number the customer sees) of every customer leg dialled back."""
    assert lab.server is not None
    legs = []
    calls = lab.server.calls.active_calls()
    for call in calls:
        for leg in call.legs.values():
            if leg.channel.startswith(f"Local/{number}@lab-customers") and leg.channel.endswith(";2"):
                legs.append((call.linkedid, next(iter(call.legs.values())).channel, leg.caller_number))
    return legs
