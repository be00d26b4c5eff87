"""Issue 20 acceptance: two real Asterisk boxes joined by a PJSIP trunk, one server on both AMIs.

The queue box (box-1) holds the IVR, the queues and the recordings; box-2 is an edge carrying
callers of its own (sent on to box-1) and the phones of agents 1003 and 1004 (rung from box-1
through the trunk). docs/deploy.md, "Two Asterisk boxes", says why.

One two-box lab for the module; the tests run in order, the last one kills box-2.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import signal
import time
import wave
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ctiserver.agents.model import AgentState
from ctiserver.callbacks.dialer import CallbackDialer
from ctiserver.callbacks.model import Miss, Source
from ctiserver.ivr import IvrRunRepository
from ctiserver.lab.caller import place_call
from ctiserver.lab.isolated import free_port
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall, originate_action
from ctiserver.operations.check import edge_results
from ctiserver.recordings.model import pcm_rms
from ctiserver.server import CtiServer
from ctiserver.settings import EdgeBoxSettings
from ctiserver.telephony.outbound import Pending, Tracker
from tests.integration.conftest import WebClient, eventually, lab_settings
from tests.integration.shared_lab import module_lab
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "lab"
LOCAL = "Local/{}@lab-agents/n"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer,  # noqa: F811
) -> AsyncIterator[Lab]:
    """box-1 with agents 1001, 1002; box-2 with 1003, 1004; nobody logged in at start; two
    server nodes (this process's and one more) on one real PostgreSQL, as
    ``ctiserver lab --boxes 2 --nodes 2`` runs them."""
    edge = EdgeBoxSettings(name="box-2", ami_port=free_port(), sip_port=free_port(), agents=("1003", "1004"))
    url = await postgres_server.create_database("two_boxes_lab")
    settings = lab_settings(
        tmp_path_factory.mktemp("boxes"), lab={"login_agents": False, "agent_answer_delay": 0.5},
        database={"url": url},
    )
    # a short wrap-up: the tests wait for agents to be ready again between calls; callbacks
    # dialled at any hour (the default window, 08:00-20:00 hotline time, failed the test at night)
    queues = tuple(dataclasses.replace(q, wrapup_time=1, hours="") for q in settings.hotline.queues)
    # box-1's carrier trunk calls one customer at a time for callbacks: a second leaves by box-2
    settings = settings.replace(boxes={"edges": (edge,), "outbound_lines": 1}, hotline={"queues": queues})
    async with module_lab(settings, nodes=2) as lab:
        yield lab


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def supervisor(lab: Lab) -> AsyncIterator[WebClient]:
    client = WebClient(lab)
    assert (await client.login("supervisor", PASSWORD)).status == 200
    yield client
    await client.close()


def server(lab: Lab) -> CtiServer:
    assert lab.server is not None
    return lab.server


async def log_in(lab: Lab, *extensions: str) -> None:
    """Exactly these agents in the support queue, each ready or on their call (no wrap-up)."""
    board = server(lab).board
    for record in await server(lab).agents.all():
        agent = board.get(LOCAL.format(record.extension))
        if record.user_id is None:
            continue
        if str(record.extension) in extensions:
            await server(lab).desk.login(record.user_id, ["support"])
        elif agent is not None and agent.queues:
            await server(lab).desk.logout(record.user_id)

    async def ready() -> bool:
        return all(
            (agent := board.get(LOCAL.format(ext))) is not None and "support" in agent.queues
            and agent.state in (AgentState.READY, AgentState.ON_CALL)
            for ext in extensions
        )

    await eventually(ready, 30, f"agents {', '.join(extensions)} to be ready")


async def call_from_box_2(lab: Lab, number: str, **call: Any) -> None:
    """A caller entering box-2 (its carrier trunk in production)."""
    edge = lab.edge("box-2")
    await edge.phones.send_action(originate_action(edge.settings, LabCall(number, **call)))


async def live_call_of(lab: Lab, number: str) -> Any:
    """The server's live call of the caller ``number`` (the queue box's call id)."""

    async def found() -> Any:
        return next((c for c in server(lab).calls.active_calls() if c.caller_number == number), None)

    return await eventually(found, 20, f"the call of {number} in the live model")


async def answered_by(lab: Lab, call_id: str, extension: str) -> None:
    async def answered() -> bool:
        agent = server(lab).board.get(LOCAL.format(extension))
        call = server(lab).calls.get(call_id)
        return (call is not None and call.answered_at is not None and agent is not None
                and agent.state == AgentState.ON_CALL)

    await eventually(answered, 30, f"call {call_id} answered by {extension}")


async def channels(lab: Lab, box: str) -> list[dict[str, str]]:
    phones = lab.phones if box == "box-1" else lab.edge(box).phones
    listing = await phones.send_list_action({"Action": "CoreShowChannels"})
    return [dict(m) for m in listing if m.get("Event") == "CoreShowChannel"]


async def hang_up_everything(lab: Lab) -> None:
    """End the test's calls on every living box and wait until the server holds none."""
    for box in ("box-1", *(e.name for e in lab.edges if e.asterisk.running)):
        phones = lab.phones if box == "box-1" else lab.edge(box).phones
        await phones.send_action({"Action": "Hangup", "Channel": "/^Local\\/s@lab-caller/"})

    async def none_left() -> bool:
        return not server(lab).calls.active_calls()

    await eventually(none_left, 20, "no call left in the live model")

    async def nobody_on_a_call() -> bool:  # the board follows the calls' ends a moment later
        return not [a for a in server(lab).board.all() if a.state in (AgentState.RINGING, AgentState.ON_CALL)]

    await eventually(nobody_on_a_call, 20, "every agent off their call")


class Desk:
    """An agent's desk websocket: the pops pushed to it."""

    def __init__(self, client: WebClient, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.client, self.ws = client, ws
        self.pops: list[dict[str, Any]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, lab: Lab, extension: str, base: str | None = None) -> Desk:
        """The desk on the lab's own node, or on the node serving ``base``."""
        client = WebClient(lab)
        client.base = base or client.base
        assert (await client.login(f"agent{extension}", PASSWORD)).status == 200
        return cls(client, await client.session.ws_connect(client.base.replace("http", "ws") + "/ws"))

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT and message.json().get("type") == "pop":
                self.pops.append(message.json())

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await self.client.close()


async def test_a_call_entering_box_1_answered_on_box_2_is_one_call_everywhere(
    lab: Lab, supervisor: WebClient
) -> None:
    number = "13800138000"  # 张伟, a demo customer
    # what `ctiserver lab --boxes 2` tells a newcomer: which box is which, and how to kill box-2
    summary = "\n".join(lab.boxes_summary())
    assert "box-1 (the queue box" in summary and f"kill -9 {lab.edge('box-2').asterisk.pid}" in summary
    assert lab.asterisk is not None and f"kill -9 {lab.asterisk.pid}" in summary
    await log_in(lab, "1003")
    desk = await Desk.open(lab, "1003")
    # the same agent's desk open on the lab's other node (`--boxes 2 --nodes 2`)
    [node_2] = lab.other_nodes
    other_desk = await Desk.open(lab, "1003", base=node_2.web_url)
    try:
        started = time.time()
        call_id = await place_call(lab, LabCall(number, "张伟", hangup_after=5))
        await answered_by(lab, call_id, "1003")

        # the agent's leg crossed the trunk, carrying the server's call id in X-CTI-Call
        [leg] = [c for c in await channels(lab, "box-2") if c["Channel"].startswith("PJSIP/box-1-")]
        carried = await lab.edge("box-2").phones.send_action(
            {"Action": "Getvar", "Channel": leg["Channel"], "Variable": "CTI_CALL"}
        )
        assert carried.get("Value") == call_id
        assert any(c["Channel"].startswith("Local/1003@lab-agents") for c in await channels(lab, "box-2"))

        record = await ended_record(supervisor, call_id)
        # one call: one record for this caller, one pop thread, one set of statistics
        records = [r for r in (await supervisor.calls("ended")).values() if r["caller_number"] == number]
        assert [r["id"] for r in records] == [call_id]
        assert record["answered_at"] and record["ended_at"]
        assert {pop["pop"]["call_id"] for pop in desk.pops} == {call_id}
        assert [p["event"] for p in desk.pops][:2] == ["ringing", "answered"], [p["event"] for p in desk.pops]
        assert desk.pops[0]["pop"]["caller_number"] == number

        # the pop seen through either node: node-2 follows box-1 on its own AMI link
        async def other_node_popped() -> list[str] | None:
            events = [p["event"] for p in other_desk.pops]
            return events if "answered" in events else None

        assert (await eventually(other_node_popped, 20, "the pop on node-2"))[:2] == ["ringing", "answered"]
        assert {pop["pop"]["call_id"] for pop in other_desk.pops} == {call_id}
        assert other_desk.pops[0]["pop"]["caller_number"] == number

        async def stats() -> list[str] | None:
            kinds = sorted(r.kind for r in await server(lab).stats_records.between(started - 1, time.time() + 1)
                           if getattr(r, "linkedid", None) == call_id)
            return kinds if "completed" in kinds else None

        assert await eventually(stats, 45, "the call's statistics") == ["answered", "completed", "offered"]

        async def recording() -> list[dict[str, Any]] | None:
            found = (await supervisor.get_json(f"/api/recordings?caller={number}"))["recordings"]
            return found or None

        [made] = await eventually(recording, 30, "the call's recording")
        assert made["call_id"] == call_id and made["playable"] is True and made["flag"] is None
        async with supervisor.session.get(supervisor.base + made["audio_url"]) as audio:
            assert audio.status == 200
            body = await audio.read()
        with wave.open(io.BytesIO(body), "rb") as wav:
            frames = wav.readframes(wav.getnframes())
            seconds = wav.getnframes() / wav.getframerate()
        assert seconds > 2 and pcm_rms(frames) > 100, "the recording holds both sides' sound"
    finally:
        await desk.close()
        await other_desk.close()
        await hang_up_everything(lab)


async def test_a_busy_agent_is_not_rung_for_box_2_and_the_supervisor_sees_one_queue_in_order(
    lab: Lab, supervisor: WebClient
) -> None:
    await log_in(lab, "1003")
    desk = await Desk.open(lab, "1003")
    try:
        first = await place_call(lab, LabCall("13900000001"))
        await answered_by(lab, first, "1003")
        # callers arriving while 1003 talks: one entering box-2, then one entering box-1
        await call_from_box_2(lab, "13900000002")
        second = (await live_call_of(lab, "13900000002")).linkedid

        async def waiting(count: int) -> list[str] | None:
            calls = [c["call_id"] for c in supervisor_view(lab)["waiting_calls"] if c["queue"] == "support"]
            return calls if len(calls) == count else None

        assert await eventually(lambda: waiting(1), 20, "the caller from box-2 waiting") == [second]
        third = await place_call(lab, LabCall("13900000003"))

        async def both_waiting() -> list[str] | None:
            return await waiting(2)

        # one queue across both boxes, in order of arrival
        assert await eventually(both_waiting, 20, "two callers waiting") == [second, third]
        [support] = [q for q in supervisor_view(lab)["queues"] if q["name"] == "support"]
        assert support["waiting"] == 2

        # an agent on box-1 comes: the caller from box-2, first in line, is answered by them
        await log_in(lab, "1003", "1001")
        await answered_by(lab, second, "1001")
        assert server(lab).calls.get(third).answered_at is None
        # the caller who entered box-2 ran the IVR once, on box-1, under box-1's call id
        async def ivr_runs() -> list[Any] | None:
            return await IvrRunRepository(server(lab).db).list_for_call(second) or None

        assert len(await eventually(ivr_runs, 10, "the IVR run of the caller from box-2")) == 1
        # 1003, busy through box-1, was never rung for anyone else: no other pop, one leg on box-2
        assert {pop["pop"]["call_id"] for pop in desk.pops} == {first}
        legs = [c for c in await channels(lab, "box-2") if c["Channel"].startswith("Local/1003@lab-agents")
                and c["Channel"].endswith(";1")]
        assert len(legs) == 1, legs
    finally:
        await desk.close()
        await hang_up_everything(lab)


def supervisor_view(lab: Lab) -> dict[str, Any]:
    return server(lab).wallboard.snapshot()


async def test_an_agent_busy_on_a_private_call_on_box_2_is_not_rung_by_box_1s_queue(lab: Lab) -> None:
    """The call never passes through box-1: only the device state box-2 publishes tells it."""
    await log_in(lab, "1003")
    edge = lab.edge("box-2")
    await edge.phones.send_action({
        "Action": "Originate", "Channel": "Local/1003@lab-agents/n", "Application": "Wait", "Data": "120",
        "Async": "true", "ChannelId": "private-1003",
    })

    async def shared() -> bool:
        reply = await lab.phones.send_action({"Action": "Getvar", "Variable": "DEVICE_STATE(Custom:agent1003)"})
        return reply.get("Value") == "INUSE"

    await eventually(shared, 20, "box-1 to learn that 1003's phone is in use on box-2")

    async def shown_busy() -> bool:
        [row] = [a for a in supervisor_view(lab)["agents"] if a["extension"] == "1003"]
        return row["state"] == "busy"

    # the supervisor's page shows them busy, not ready (the state box-2 shares)
    await eventually(shown_busy, 10, "1003 shown busy on the supervisor's page")
    desk = await Desk.open(lab, "1003")
    try:
        waiting = await place_call(lab, LabCall("13600000001"))
        await log_in(lab, "1003", "1001")
        await answered_by(lab, waiting, "1001")
        assert desk.pops == [], "1003, busy on box-2, was offered the call"
        # the private call ends: box-1 rings 1003 again
        await edge.phones.send_action({"Action": "Hangup", "Channel": "/^Local\\/1003@lab-agents/"})
        second = await place_call(lab, LabCall("13600000002"))
        await answered_by(lab, second, "1003")
        assert {pop["pop"]["call_id"] for pop in desk.pops} == {second}
    finally:
        await desk.close()
        await hang_up_everything(lab)


async def test_callbacks_leave_by_the_box_with_room_each_dialled_once(lab: Lab) -> None:
    """Two callbacks at once, to an agent on box-1 and one on box-2: box-1 runs both attempts
    (its AstDB holds their records) and, with one line of its own, dials one customer itself
    and the other out of box-2; each is dialled once, connected, and never again."""
    srv = server(lab)
    store = srv.callbacks.store
    now = srv.core.clock()
    for owed in await store.pending():  # earlier tests' abandoned callers
        await store.cancel(owed.id, now)
    await log_in(lab, "1001", "1003")
    dialer = CallbackDialer(store, srv.core.ami, srv.board, lab.settings, clock=srv.core.clock,
                            changed=lambda task: None, offer=lambda interface, body: None)
    originated: list[tuple[str, str]] = []
    dialer.on_originate = lambda channel_id, interface: originated.append((channel_id, interface))
    srv.core.follow(dialer.handle)
    numbers = ("13500000001", "13500000002")
    tasks = [(await store.record_miss(Miss(n, Source.ABANDONED, now - 60 + i, queue="support")))[0]
             for i, n in enumerate(numbers)]
    try:
        async def both_free() -> bool:  # out of the last test's calls and wrap-up, phones idle
            return len(dialer.free_agents("support")) == 2

        await eventually(both_free, 30, "1001 and 1003 free for a callback")
        assert await dialer.tick() == 2
        assert sorted(interface for _, interface in originated) == [LOCAL.format("1001"), LOCAL.format("1003")]

        async def customers_on_the_line() -> dict[str, str] | None:
            where = {}
            for box in ("box-1", "box-2"):
                for channel in await channels(lab, box):
                    for number in numbers:
                        if channel["Channel"].startswith(f"Local/{number}@lab-customers") \
                                and channel["ChannelStateDesc"] == "Up":
                            where[number] = box
            return where if len(where) == 2 else None

        where = await eventually(customers_on_the_line, 30, "both customers answering")
        assert sorted(where.values()) == ["box-1", "box-2"], where
        # the customer dialled out of box-2 is one call: its leg crossed the trunk with the attempt's id
        out_of_box_2 = next(n for n, box in where.items() if box == "box-2")
        [crossed] = [c for c in await channels(lab, "box-2") if c["Channel"].startswith("PJSIP/box-1-")
                     and c["Exten"].startswith("callout-")]
        assert crossed["Exten"] == f"callout-{out_of_box_2}"
        await hang_up_customers(lab)

        async def connected() -> list[Any] | None:
            found = [await store.get(t.id) for t in tasks]
            return found if all(f is not None and f.status == "connected" for f in found) else None

        await eventually(connected, 30, "both callbacks connected")
        attempts = [a for t in tasks for a in await store.attempts(t.id)]
        assert len(attempts) == 2 and all(a.outcome == "connected" for a in attempts), attempts
        # the records are the queue box's, whichever box the customer's leg left by
        tracker = Tracker(srv.core.ami, span=120)
        for attempt in attempts:
            record = await tracker.record(Pending(attempt.channel_id, attempt.started_at.timestamp()))
            assert record is not None and record.answered, (attempt.channel_id, record)
        await log_in(lab, "1001", "1003")
        assert await dialer.tick() == 0, "a connected callback dialled again"
    finally:
        await hang_up_customers(lab)
        srv.core._followers.remove(dialer.handle)
        await hang_up_everything(lab)


async def hang_up_customers(lab: Lab) -> None:
    """The customers called back hang up, on either box (and any callback's agent leg left)."""
    for phones in (lab.phones, lab.edge("box-2").phones):
        await phones.send_action({"Action": "Hangup", "Channel": "/^Local\\/[0-9]+@lab-customers/"})
    await lab.phones.send_action({"Action": "Hangup", "Channel": "/^Local\\/[0-9]+@lab-agents-[0-9a-f]+;1$/"})


async def test_with_box_1_unreachable_a_caller_entering_box_2_is_told_not_queued(lab: Lab) -> None:
    """box-2's trunk pointed at a dead port (box-1 unreachable as box-2 sees it): its caller is
    not queued on box-2 with no agent but hears the edge's down prompt and is hung up."""
    edge = lab.edge("box-2")
    pjsip = edge.asterisk.install.host_path(edge.asterisk.layout.etc) / "pjsip.conf"
    original = pjsip.read_text()
    contact = f"contact = sip:box-1@127.0.0.1:{lab.settings.asterisk.sip_port}"
    assert contact in original

    async def box_1_seen(reachable: bool) -> bool:
        reply = await edge.phones.send_action({"Action": "Getvar", "Variable": "PJSIP_DIAL_CONTACTS(box-1)"})
        return bool(reply.get("Value")) is reachable

    try:
        pjsip.write_text(original.replace(contact, f"contact = sip:box-1@127.0.0.1:{free_port()}"))
        await edge.asterisk.cli("module reload res_pjsip.so")
        await eventually(lambda: box_1_seen(False), 20, "box-2 to find box-1 unreachable")
        await call_from_box_2(lab, "13400000001")

        async def told() -> dict[str, str] | None:
            return next((c for c in await channels(lab, "box-2") if c.get("Application") == "Playback"
                         and c.get("ApplicationData") == lab.settings.boxes.down_prompt), None)

        await eventually(told, 20, "the caller on box-2 to hear the down prompt")
        assert not [c for c in await channels(lab, "box-2") if c.get("Application") == "Queue"]
        assert not [c for c in server(lab).calls.active_calls() if c.caller_number == "13400000001"]

        async def hung_up() -> bool:
            return not [c for c in await channels(lab, "box-2") if c["Channel"].startswith("Local/s@lab-caller")]

        await eventually(hung_up, 20, "the caller hung up after the prompt")
    finally:
        pjsip.write_text(original)
        await edge.asterisk.cli("module reload res_pjsip.so")
        await eventually(lambda: box_1_seen(True), 20, "box-2 to reach box-1 again")


async def test_with_box_1_killed_box_2s_agents_take_box_2s_callers_until_it_is_back(
    lab: Lab, supervisor: WebClient
) -> None:
    """``kill -9`` on box-1's Asterisk: the server logs box-2's agent in to box-2's own queue, so
    a caller entering box-2 is answered there by them, one call in the live model, the pops
    and the records; once box-1 is back, box-2's queue is emptied and its callers go on to box-1."""
    await log_in(lab, "1003")
    edge = lab.edge("box-2")
    box_1 = lab.asterisk
    assert box_1 is not None and box_1.pid is not None

    async def members_on_box_2() -> list[str]:
        listing = await edge.phones.send_list_action({"Action": "QueueStatus", "Queue": "support"})
        return [m.get("Location", "") for m in listing if m.get("Event") == "QueueMember"]

    assert await members_on_box_2() == [], "box-2's queues have members while box-1 is up"
    desk = await Desk.open(lab, "1003")
    try:
        os.kill(box_1.pid, signal.SIGKILL)

        async def stood_in() -> list[str] | None:
            return await members_on_box_2() or None

        assert await eventually(stood_in, 30, "1003 in box-2's own support queue") == [LOCAL.format("1003")]
        number = "13300000001"
        await call_from_box_2(lab, number, hangup_after=8)
        call = await live_call_of(lab, number)
        # box-2's call, taken by the server from box-2 (its id box-2's: the lab's Originate names it)
        assert server(lab).stand_in.status("box-2") == {"standing_in": True, "calls_taken": 1}
        await answered_by(lab, call.linkedid, "1003")
        assert [c for c in await channels(lab, "box-2") if c["Channel"].startswith("Local/1003@lab-agents")]

        async def recorded_once() -> list[dict[str, Any]] | None:
            found = [r for r in (await supervisor.calls("ended")).values() if r["caller_number"] == number]
            return found if found and found[0]["ended_at"] else None

        [record] = await eventually(recorded_once, 30, "the call's record")
        assert record["id"] == call.linkedid and record["answered_at"], record
        assert {pop["pop"]["call_id"] for pop in desk.pops} == {call.linkedid}
        assert [p["event"] for p in desk.pops][:2] == ["ringing", "answered"], [p["event"] for p in desk.pops]

        # box-1 back: box-2's queue emptied, its callers go on to box-1 again
        async def box_1_dead() -> bool:
            return not box_1.running

        await eventually(box_1_dead, 10, "box-1's Asterisk gone")
        await box_1.start()
        await box_1.wait_fully_booted()

        async def emptied() -> bool:
            return server(lab).ami.connected and not await members_on_box_2()

        await eventually(emptied, 30, "box-2's queue emptied once box-1 is back")
        await log_in(lab, "1003")
        again = "13300000002"
        await call_from_box_2(lab, again)
        crossing = await live_call_of(lab, again)
        await answered_by(lab, crossing.linkedid, "1003")
        # box-1's call again (its id is a channel's on box-1), none taken from box-2
        assert [c for c in await channels(lab, "box-1") if c.get("Linkedid") == crossing.linkedid]
        assert server(lab).stand_in.status("box-2") == {"standing_in": False, "calls_taken": 0}
    finally:
        await desk.close()
        if box_1.running:
            await hang_up_everything(lab)


async def test_box_2_killed_ends_only_its_calls_and_new_calls_go_through_box_1(
    lab: Lab, supervisor: WebClient
) -> None:
    await log_in(lab, "1003")
    crossing = await place_call(lab, LabCall("13700000001"))  # box-1 caller, box-2 agent
    await answered_by(lab, crossing, "1003")
    await log_in(lab, "1003", "1001")
    local = await place_call(lab, LabCall("13700000002"))  # all on box-1
    await answered_by(lab, local, "1001")
    await log_in(lab, "1003", "1001", "1002")
    await call_from_box_2(lab, "13700000003")  # box-2 caller, box-1 agent
    edge_caller = (await live_call_of(lab, "13700000003")).linkedid
    await answered_by(lab, edge_caller, "1002")

    admin = WebClient(lab)
    assert (await admin.login("admin", PASSWORD)).status == 200
    healthy = await admin.get_json("/healthz")
    assert healthy["checks"]["boxes"]["ok"] is True, healthy

    # `ctiserver check` finds the trunk up both ways and box-2's contexts in place
    [trunk] = await edge_results(lab.settings)
    assert trunk.ok and "trunk up both ways" in trunk.detail, trunk
    box_2 = lab.edge("box-2").asterisk
    assert box_2.pid is not None
    os.kill(box_2.pid, signal.SIGKILL)

    async def box_2_calls_ended() -> bool:
        active = {c.linkedid for c in server(lab).calls.active_calls()}
        return crossing not in active and edge_caller not in active

    await eventually(box_2_calls_ended, 30, "box-2's calls to end")

    [node_2] = lab.other_nodes
    admin_2 = WebClient(lab)
    admin_2.base = node_2.web_url
    assert (await admin_2.login("admin", PASSWORD)).status == 200

    async def told() -> dict[str, Any] | None:
        """Each node finds box-2 dead; its 2 trunk calls were ended by one node or the other."""
        [status] = server(lab).boxes.status()
        [other] = (await admin_2.get_json("/healthz"))["checks"]["boxes"]["edges"]
        ended = status["calls_ended"] + other["calls_ended"]
        return status if status["dead"] and other["dead"] and ended >= 2 else None

    try:
        status = await eventually(told, 10, "both nodes to count box-2 dead, its 2 calls ended")
    finally:
        await admin_2.close()
    [trunk] = await edge_results(lab.settings)
    assert not trunk.ok and "does not answer" in trunk.detail, trunk
    try:
        health = await admin.get_json("/healthz")
    finally:
        await admin.close()
    assert health["status"] == "degraded" and health["checks"]["boxes"]["ok"] is False
    assert health["checks"]["boxes"]["edges"] == [status]
    # the call all on box-1 goes on
    assert server(lab).calls.get(local) is not None
    assert server(lab).board.get(LOCAL.format("1001")).state == AgentState.ON_CALL

    # their records closed: answered, then ended (by the box's death)
    for call_id in (crossing, edge_caller):
        record = await ended_record(supervisor, call_id)
        assert record["answered_at"] and record["ended_at"], record

    # nobody stuck: the agents of both ended calls are free again after their wrap-up
    async def free() -> bool:
        board = server(lab).board
        return all(board.get(LOCAL.format(ext)).state == AgentState.READY for ext in ("1002", "1003"))

    await eventually(free, 30, "1002 and 1003 out of their ended calls")

    # a new call reaches box-1's free agent, and box-2's agent is not rung in vain
    fresh = await place_call(lab, LabCall("13700000004"))
    await answered_by(lab, fresh, "1002")
    assert server(lab).calls.get(local) is not None

    await hang_up_everything(lab)
    board = server(lab).board

    async def nobody_on_a_call() -> bool:
        return not [a for a in board.all() if a.state in (AgentState.RINGING, AgentState.ON_CALL)]

    await eventually(nobody_on_a_call, 15, "every agent off their call (none stuck)")
    for call_id in (local, fresh):
        assert (await ended_record(supervisor, call_id))["ended_at"]
    # no ghost: the server and box-1 agree that nothing is left
    assert not [c for c in await channels(lab, "box-1") if "lab-caller" in c["Channel"]]


async def ended_record(supervisor: WebClient, call_id: str) -> dict[str, Any]:
    async def stored() -> dict[str, Any] | None:
        return (await supervisor.calls("ended")).get(call_id)

    return await eventually(stored, 20, f"the record of call {call_id}")
