"""An edge box stands in for the queue box while it is down (ctiserver.telephony.standin): what
the server adds to the edge's queues, which of the edge's events it reads, and when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

from panoramisk.message import Message

from ctiserver.lab.asterisk import AsteriskLayout, render_config
from ctiserver.lab.boxes import box_view, edge_settings
from ctiserver.lab.provision import AsteriskInstall
from ctiserver.operations.snippets import render_snippets
from ctiserver.settings import EdgeBoxSettings, Settings
from ctiserver.telephony.ami.link import AmiActionFailed
from ctiserver.telephony.standin import Member, StandIn
from tests.unit.test_boxes import context

EDGE = EdgeBoxSettings(name="box-2", ami_port=5039, sip_port=5070, agents=("1003", "1004"))
TWO = Settings().replace(boxes={"edges": (EDGE,)})
MEMBER = Member("Local/1003@cti-agents/n", "张丽", ("repair", "support"), state_interface="PJSIP/1003")


class FakeLink:
    """An AMI link as StandIn uses it: its handlers, the actions sent, canned answers."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.events: list[Callable[[Mapping[str, str]], None]] = []
        self.ready: list[Callable[[], None]] = []
        self.lost: list[Callable[[], None]] = []
        self.sent: list[dict[str, str]] = []
        self.contacts = "PJSIP/box-1/sip:box-1@127.0.0.1:5060"
        self.listing: list[dict[str, str]] = []

    def on_event(self, handler: Callable[[Mapping[str, str]], None]) -> None:
        self.events.append(handler)

    def on_ready(self, handler: Callable[[], None]) -> None:
        self.ready.append(handler)

    def on_lost(self, handler: Callable[[], None]) -> None:
        self.lost.append(handler)

    async def send_action(self, fields: dict[str, str]) -> dict[str, str]:
        if fields["Action"] == "Getvar":
            return {"Value": self.contacts}
        self.sent.append(fields)
        if fields["Action"] == "QueueAdd" and fields["Queue"] == "repair":
            # another node was first
            raise AmiActionFailed(Message({"Response": "Error", "Message": "Unable to add interface: Already there"}))
        return {}

    async def send_list_action(self, fields: dict[str, str]) -> list[dict[str, str]]:
        return list(self.listing)

    def emit(self, **message: str) -> None:
        for handler in self.events:
            handler(message)


def stand_in() -> tuple[StandIn, FakeLink, FakeLink, list[Mapping[str, str]], list[list[str]], set[str]]:
    queue_box, edge = FakeLink(), FakeLink()
    dispatched: list[Mapping[str, str]] = []
    adopted: list[list[str]] = []
    alive: set[str] = set()

    def adopt(channels: object, at: float) -> None:
        names = [c["Channel"] for c in channels]  # type: ignore[attr-defined]
        adopted.append(names)
        alive.update(c["Linkedid"] for c in channels)  # type: ignore[attr-defined]

    standin = StandIn(
        TWO, queue_box, [(EDGE, edge)],  # type: ignore[list-item]
        members=lambda e: [MEMBER] if e is EDGE else [], dispatch=dispatched.append, adopt=adopt,
        alive=lambda linkedid: linkedid in alive,
    )
    return standin, queue_box, edge, dispatched, adopted, alive


async def until(probe: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not probe():  # noqa: ASYNC110  (a plain condition, no event to wait on)
            await asyncio.sleep(0.01)


async def test_the_edges_agents_join_its_queues_only_once_the_queue_box_is_down_both_ways() -> None:
    standin, queue_box, edge, _, _, _ = stand_in()
    queue_box.connected = False
    [lost] = queue_box.lost
    lost()  # the queue box's AMI link dropped: but the edge still reaches it (a hiccup between server and box)
    await asyncio.sleep(0.7)
    assert edge.sent == [] and standin.status("box-2") == {"standing_in": False, "calls_taken": 0}
    edge.contacts = ""  # now the edge finds it unreachable too
    await until(lambda: standin.status("box-2")["standing_in"] is True)
    await until(lambda: len(edge.sent) == 2)
    assert edge.sent == [
        {"Action": "QueueAdd", "Queue": queue, "Interface": "Local/1003@cti-agents/n", "MemberName": "张丽",
         "Paused": "false", "StateInterface": "PJSIP/1003"} for queue in ("repair", "support")
    ]
    # back: the edge's members removed, whoever added them
    edge.sent.clear()
    edge.listing = [{"Event": "QueueMember", "Queue": "support", "Location": "Local/1003@cti-agents/n"},
                    {"Event": "QueueParams", "Queue": "support"}]
    queue_box.connected = True
    for ready in queue_box.ready:
        ready()
    await until(lambda: bool(edge.sent))
    assert edge.sent == [{"Action": "QueueRemove", "Queue": "support", "Interface": "Local/1003@cti-agents/n"}]
    assert standin.status("box-2")["standing_in"] is False
    await standin.stop()


async def test_only_the_calls_the_edge_queued_itself_are_read_from_it_each_once() -> None:
    standin, _, edge, dispatched, adopted, alive = stand_in()
    # a call crossing to the queue box, as every day: none of its events is the server's from here
    edge.emit(Event="Newchannel", Channel="PJSIP/carrier-01", Linkedid="box-2-1.1", Uniqueid="box-2-1.1")
    edge.emit(Event="QueueMemberStatus", Queue="support", Interface="Local/1003@cti-agents/n")
    assert dispatched == []
    # a caller the edge queues itself (the queue box down): taken from its channel list on, with the
    # events that came while the list was read
    edge.listing = [
        {"Event": "CoreShowChannel", "Channel": "PJSIP/carrier-02", "Linkedid": "box-2-2.5", "Uniqueid": "box-2-2.5"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/carrier-01", "Linkedid": "box-2-1.1", "Uniqueid": "box-2-1.1"},
    ]
    edge.emit(Event="UserEvent", UserEvent="CtiEdgeQueued", Linkedid="box-2-2.5", Uniqueid="box-2-2.5")
    edge.emit(Event="QueueCallerJoin", Queue="support", Linkedid="box-2-2.5", Uniqueid="box-2-2.5")
    await until(lambda: bool(dispatched))
    assert adopted == [["PJSIP/carrier-02"]]
    assert [m["Event"] for m in dispatched] == ["QueueCallerJoin"]
    edge.emit(Event="AgentConnect", Linkedid="box-2-2.5", Uniqueid="box-2-2.5")
    edge.emit(Event="Hangup", Linkedid="box-2-1.1", Uniqueid="box-2-1.1")  # not taken: not read
    assert [m["Event"] for m in dispatched] == ["QueueCallerJoin", "AgentConnect"]
    assert standin.status("box-2")["calls_taken"] == 1
    # its end: read, then the call is no longer followed
    alive.discard("box-2-2.5")
    edge.emit(Event="Hangup", Linkedid="box-2-2.5", Uniqueid="box-2-2.5")
    assert [m["Event"] for m in dispatched][-1] == "Hangup"
    assert standin.status("box-2")["calls_taken"] == 0
    edge.emit(Event="Hangup", Linkedid="box-2-2.5", Uniqueid="box-2-2.6")
    assert len(dispatched) == 3
    await standin.stop()


async def test_the_edges_member_events_are_read_while_it_stands_in_and_taken_calls_kept_at_resync() -> None:
    standin, queue_box, edge, dispatched, _, _ = stand_in()
    queue_box.connected, edge.contacts = False, ""
    queue_box.lost[0]()
    await until(lambda: standin.status("box-2")["standing_in"] is True)
    edge.emit(Event="QueueMemberStatus", Queue="support", Interface="Local/1003@cti-agents/n")
    edge.emit(Event="PeerStatus", Peer="PJSIP/box-1")
    assert [m["Event"] for m in dispatched] == ["QueueMemberStatus"]
    edge.listing = [{"Event": "CoreShowChannel", "Channel": "PJSIP/carrier-02", "Linkedid": "box-2-2.5"}]
    edge.emit(Event="UserEvent", UserEvent="CtiEdgeQueued", Linkedid="box-2-2.5")
    await until(lambda: standin.status("box-2")["calls_taken"] == 1)
    # the queue box back: its resynchronisation keeps the calls the edge took
    assert standin.taken_channels_wanted()
    edge.listing.append({"Event": "CoreShowChannel", "Channel": "PJSIP/box-1-03", "Linkedid": "box-2-9.9"})
    assert [c["Channel"] for c in await standin.taken_channels()] == ["PJSIP/carrier-02"]
    await standin.stop()


def test_an_edge_queues_its_own_callers_while_it_has_members_and_names_its_channels(tmp_path: Path) -> None:
    edge = render_snippets(TWO, "10.0.0.5")["box-2/extensions_ctiserver.conf"]
    down = context(edge, "cti-queue-box-down")
    assert "GotoIf($[${QUEUE_MEMBER(support,logged)} > 0]?here)" in down
    here = down.partition("(here)")[2]
    assert "UserEvent(CtiEdgeQueued,Box: box-2,Queue: support)" in here
    assert "Queue(support,t,,,,,cti-record)" in here
    # with no member (no server standing in) the caller is told, as before
    assert "Playback(all-circuits-busy-now)" in down.partition("(here)")[0]
    install = AsteriskInstall(root=Path("/"), binary="asterisk", modules_dir="/m", data_dir="/d")
    edge_conf = render_config(edge_settings(TWO, EDGE), install, AsteriskLayout(base=str(tmp_path / "e")),
                              box_view(TWO, EDGE))
    assert "systemname = box-2" in (edge_conf / "asterisk.conf").read_text()
    queue_box = render_config(TWO, install, AsteriskLayout(base=str(tmp_path / "q")), box_view(TWO, None))
    assert "systemname" not in (queue_box / "asterisk.conf").read_text()
