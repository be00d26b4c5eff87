"""Two nodes, one box (issue 19 acceptance, parts 1, 2, 4 and 5): real Asterisk, real
PostgreSQL, two ``ctiserver`` nodes (the lab's own and one in a process of its own,
``ctiserver lab --nodes 2``), 20 calls in the IVR and in the queue, ``kill -9`` of the
node that holds the leases, its agents' websockets open on it:

- every caller continues: none is hung up, each joins the queue once (the dead node's
  callers in the IVR go to the default queue: the dialplan's [cti-agi] tries no other
  node for a call a node had taken), and new FastAGI requests go to the live node;
- every IVR ticket and callback request is stored exactly once; every call once in the
  calls and once offered in the statistics;
- the dead node's leases are taken over by the survivor within ``nodes.lease_interval``;
- each agent whose websocket was on the dead node connects to the other (its session is in
  the database) and gets back the pop of the call they are on.

Asterisk's side is read on an AMI session of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ctiserver.lab.caller import IvrCaller, place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.stats import StatsRepository
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.tickets.store import TicketRepository
from tests.integration.conftest import eventually, lab_settings
from tests.integration.shared_lab import module_lab
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

LEASE_INTERVAL = 1.0
#: callers whose number matches go straight to the queue (the agents' calls); the others
#: wait in the IVR's menu until the kill
FLOW = """\
flow: nodes
entry: "4008001234"
language: zh
start: ticket
nodes:
  ticket: {kind: ticket, type: inquiry, summary: "咨询 ${caller_number}", next: callback}
  callback: {kind: callback, number: caller_id, prompt: "好的", next: route}
  route:
    kind: branch
    cases: [{when: {var: caller_number, matches: "1390000100[0-9]"}, goto: agents}]
    else: hold
  hold: {kind: menu, prompt: "请稍候", options: {"9": agents}, timeout: 15, retries: 1, on_fail: agents}
  agents: {kind: queue, queue: support}
"""
#: the lab's agents of the queue support (1003 serves repair and complaint)
AGENTS = ("1001", "1002", "1004")


class Box:
    """What Asterisk says, on an AMI session of the test's own."""

    def __init__(self, lab: Lab) -> None:
        self.link = AmiLink(lab.settings.ami)
        self.listening: set[str] = set()
        self.joined: Counter[str] = Counter()
        self.hung_up: dict[str, float] = {}
        self.link.on_event(self._on_event)

    async def _on_event(self, message: dict[str, str]) -> None:
        event = message.get("Event")
        if event == "UserEvent" and message.get("UserEvent") == "CtiIvrListening":
            self.listening.add(message.get("CallId", ""))
        elif event == "QueueCallerJoin":
            self.joined[message.get("Uniqueid", "")] += 1
        elif event == "Hangup":
            self.hung_up.setdefault(message.get("Uniqueid", ""), time.monotonic())


@pytest.fixture
async def two_nodes(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Lab]:  # noqa: F811
    url = await postgres_server.create_database("two_nodes_lab")
    settings = lab_settings(
        tmp_path, flow=FLOW, database={"url": url}, nodes={"lease_interval": LEASE_INTERVAL, "heartbeat": 1.0},
    )
    async with module_lab(settings, nodes=2) as lab:
        yield lab


async def _json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200, f"{url}: {response.status} {await response.text()}"
        return await response.json()


async def _held(http: aiohttp.ClientSession, base: str) -> list[str]:
    health = await _json(http, f"{base}/healthz")
    return list(health["checks"]["leases"]["held"])


async def _desk(http: aiohttp.ClientSession, base: str, timeout: float) -> dict[str, Any] | None:
    """The first pop a desk's websocket on ``base`` gets (its greeting), or None."""
    async with http.ws_connect(f"{base}/ws") as ws:
        try:
            async with asyncio.timeout(timeout):
                async for message in ws:
                    body = json.loads(message.data)
                    if body.get("type") == "pop" and body.get("event") in ("ringing", "answered"):
                        return dict(body["pop"])
        except TimeoutError:
            return None
    return None


async def test_a_node_killed_under_calls_loses_no_caller_no_store_and_no_pop(two_nodes: Lab) -> None:
    lab = two_nodes
    assert lab.server is not None
    one = lab.server
    two = lab.other_nodes[0]
    base_one, base_two = f"http://127.0.0.1:{one.web_port}", two.web_url
    box = Box(lab)
    await box.link.start()
    await box.link.wait_ready(20)
    admin = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # /healthz shows the leases to admins
    desks: dict[str, aiohttp.ClientSession] = {}
    try:
        login = await admin.post(f"{base_two}/login", json={
            "username": "admin", "password": lab.settings.lab.demo_password})
        assert login.status == 200, await login.text()
        # node two holds the leases: node one lets go of its own, as a restart would, and
        # takes them back only when node two dies
        await one.core.leases.stop()

        async def two_holds() -> list[str] | None:
            return await _held(admin, base_two) or None

        held_by_two = await eventually(two_holds, 20, "node two to hold the leases")
        await one.core.leases.start()
        # the agents' desks on node two
        for extension in AGENTS:
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            desks[extension] = http
            login = await http.post(f"{base_two}/login", json={
                "username": f"agent{extension}", "password": lab.settings.lab.demo_password})
            assert login.status == 200, await login.text()
        # three calls the agents answer, seventeen that wait in the IVR's menu
        early = [await place_call(lab, LabCall(f"1390000100{n}")) for n in range(len(AGENTS))]

        async def all_answered() -> bool:
            return all(c is not None and c.answered_at is not None for c in map(one.calls.get, early))

        await eventually(all_answered, 40, "the agents to answer the first calls")
        pops = {ext: await _desk(http, base_two, 10) for ext, http in desks.items()}
        assert {p["call_id"] for p in pops.values() if p} == set(early), pops
        late = [await place_call(lab, LabCall(f"139000020{n:02d}")) for n in range(17 - len(early))]

        async def all_listening() -> bool:
            return set(late) <= box.listening

        await eventually(all_listening, 60, "the other callers to wait in the IVR's menu")
        on_two = [call for call in late if call not in one.ivr.live]
        assert on_two, "FastAGI requests spread over the nodes ([cti-agi] starts at one picked at random)"

        await two.kill()
        killed = time.monotonic()

        async def one_holds() -> bool:
            return set(held_by_two) <= set(one.core.leases.held())

        await eventually(one_holds, LEASE_INTERVAL * 10, "node one to take over node two's leases")
        took_over = time.monotonic() - killed
        # new callers: each FastAGI request that starts at the dead node goes on to the live one
        after = [await place_call(lab, LabCall(f"139000030{n:02d}")) for n in range(3)]

        async def after_listening() -> bool:
            return set(after) <= box.listening and set(after) <= set(one.ivr.live)

        await eventually(after_listening, 30, "the callers after the kill to reach node one's IVR")
        late += after
        reconnected: dict[str, dict[str, Any] | None] = {}
        for extension, http in desks.items():  # each desk's socket, now on node one
            reconnected[extension] = await _desk(http, base_one, 10)
        reconnect = time.monotonic() - killed
        assert {ext: p and p["call_id"] for ext, p in reconnected.items()} == \
            {ext: p and p["call_id"] for ext, p in pops.items()}, "every agent got their call's pop back"

        async def all_queued() -> bool:
            return all(box.joined[call] for call in early + late)

        await eventually(all_queued, 60, "every caller to reach the queue")
        assert not {call for call in early + late if call in box.hung_up}, "no caller hung up"
        assert all(box.joined[call] == 1 for call in early + late), box.joined
        # stored exactly once, whichever node the caller's IVR ran on
        tickets = TicketRepository(one.db)
        for call in early + late:
            found = await tickets.list_for_call(call)
            assert len(found) == 1, (call, found)
        rows = await _count(one, "SELECT linkedid, count(*) FROM callback_misses WHERE linkedid = ANY($1) "
                                 "GROUP BY linkedid", early + late)
        assert rows == dict.fromkeys(early + late, 1), rows
        for call in early + late:  # the callers leave
            await IvrCaller(lab, call).hang_up()

        async def all_recorded() -> dict[str, int] | None:
            found = await _count(one, "SELECT linkedid, count(*) FROM calls WHERE linkedid = ANY($1) "
                                      "GROUP BY linkedid", early + late)
            return found if len(found) == 20 else None

        assert await eventually(all_recorded, 30, "every call in the calls") == dict.fromkeys(early + late, 1)
        offers = Counter(
            record.linkedid for record in await StatsRepository(one.db).between(0, time.time() + 60)
            if record.kind == "offered"
        )
        assert {call: offers[call] for call in early + late} == dict.fromkeys(early + late, 1)
        for call in early + late:  # and still once now that they hung up (a hangup runs no request again)
            assert len(await tickets.list_for_call(call)) == 1, call
    finally:
        for http in desks.values():
            await http.close()
        await admin.close()
        await box.link.stop()
    print(f"\nkill -9 of a node with {len(on_two)} callers in its IVR (20 calls): every caller went on; "
          f"leases taken over in {took_over * 1000:.0f} ms; {len(desks)} desks reconnected with their pops "
          f"{reconnect * 1000:.0f} ms after the kill")


async def _count(server: Any, query: str, calls: list[str]) -> dict[str, int]:
    from ctiserver.storage.pglink import connect

    connection = await connect(server.settings.database.url)
    try:
        return {row[0]: row[1] for row in await connection.fetch(query, calls)}
    finally:
        await connection.close()
