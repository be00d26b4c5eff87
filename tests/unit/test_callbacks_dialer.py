"""The dialler with a fake AMI: claims before the Originate, rings ready agents only,
outcomes from the agent leg's events, an agent who misses the offer does not count, and
after a restart, or once its server's lease ran out, an attempt in flight is followed
(still in Asterisk) or finished from Asterisk's record of it (gone), never dialled again."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from panoramisk.message import Message

from ctiserver.agents.model import AgentBoard
from ctiserver.callbacks.dialer import CallbackDialer
from ctiserver.callbacks.model import Miss, Policy, Source
from ctiserver.callbacks.store import CallbackInfo, CallbackRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.telephony.ami.actions import AmiActionFailed
from ctiserver.telephony.events import ChannelHungUp, DialEnded, DialStarted, QueueMemberAdded

T = 1_764_036_000.0
AGENT = "Local/{extension}@lab-agents/n"


class FakeAmi:
    def __init__(self, channels: list[dict[str, str]] | None = None, records: dict[str, str] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.channels = channels or []
        #: AstDB: "family/key" -> value (the dialplan's records of attempts)
        self.records = records or {}
        self.checked_db: list[str] = []
        self.store: CallbackRepository | None = None

    async def send_action(self, action: dict[str, Any]) -> dict[str, str]:
        if self.store is not None:  # the attempt is in the database before the Originate
            (attempt,) = [a for a in await self.store.in_flight() if a.channel_id == action["ChannelId"]]
            self.checked_db.append(attempt.channel_id)
        self.sent.append(action)
        return {"Response": "Success"}

    async def send_list_action(self, action: dict[str, Any]) -> list[dict[str, str]]:
        if action["Action"] == "DBGet":
            value = self.records.get(f"{action['Family']}/{action['Key']}")
            if value is None:
                raise AmiActionFailed(Message({"Response": "Error", "Message": "Database entry not found"}))
            return [{"Response": "Success"}, {"Event": "DBGetResponse", "Val": value}, {"Event": "DBGetComplete"}]
        assert action == {"Action": "CoreShowChannels"}
        return [{"Event": "CoreShowChannel", **c} for c in self.channels]

    async def wait_ready(self, timeout: float) -> None:
        return None


def _settings() -> Settings:
    settings = Settings().replace(hotline={"agent_interface": AGENT, "callback_interface": "Local/{number}@c"})
    queues = tuple(dataclasses.replace(q, hours="") for q in settings.hotline.queues)
    return settings.replace(hotline={"queues": queues})


def _board(*extensions: str) -> AgentBoard:
    board = AgentBoard(clock=lambda: T)
    for n, extension in enumerate(extensions):
        board.handle(QueueMemberAdded(T - 100 + n, "support", AGENT.format(extension=extension),
                                      member_name=f"agent {extension}", paused=False))
    return board


def _dialer(
    db: Database, ami: FakeAmi, board: AgentBoard, *, server: str = "s1", now: list[float] | None = None,
    lease: float | None = None,
) -> tuple[CallbackDialer, CallbackRepository, list[CallbackInfo], list[tuple[str, dict[str, Any]]]]:
    store = CallbackRepository(db, Policy(max_attempts=2, retry_min=60, retry_max=60), server=server)
    changed: list[CallbackInfo] = []
    offers: list[tuple[str, dict[str, Any]]] = []
    dialer = CallbackDialer(
        store, ami, board, _settings(), clock=lambda: (now or [T])[0],  # type: ignore[arg-type]
        changed=changed.append, offer=lambda interface, body: offers.append((interface, body)),
        leases=DiallerLeases(db, server, lease) if lease is not None else None,
    )
    return dialer, store, changed, offers


async def _settle() -> None:
    """Until the work the dialer spawned (outcomes written to the database) is done: a fixed
    sleep was too short for a loaded machine's database."""
    for _ in range(20):
        await asyncio.sleep(0)
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=10)


async def test_ready_agents_get_due_tasks_agent_first_claimed_before_the_originate(db: Database) -> None:
    ami = FakeAmi()
    dialer, store, changed, offers = _dialer(db, ami, _board("1001", "1002"))
    ami.store = store
    for n in range(3):
        await store.record_miss(Miss(f"1380000000{n}", Source.ABANDONED, T - 50 + n, queue="support"))
    assert await dialer.tick() == 2  # two agents, three tasks
    assert ami.checked_db == [a["ChannelId"] for a in ami.sent]
    first = ami.sent[0]
    assert (first["Channel"], first["Context"], first["Exten"]) == ("Local/1001@lab-agents/n", "callback", "13800000000")
    assert first["CallerID"] == '"CB 13800000000" <13800000000>'
    assert [body["event"] for _, body in offers] == ["ringing", "ringing"]
    assert offers[0][1]["callback"]["number"] == "13800000000"
    assert await dialer.tick() == 0, "both agents are reserved"
    assert dialer.free_agents("support") == []
    assert [c.status for c in changed] == ["dialing", "dialing"]


async def test_outcomes_from_the_agent_legs_events(db: Database) -> None:
    ami = FakeAmi()
    clock = [T]
    dialer, store, _, offers = _dialer(db, ami, _board("1001"), now=clock)
    task, _ = await store.record_miss(Miss("13800000000", Source.ABANDONED, T - 50, queue="support"))
    await dialer.tick()
    channel = ami.sent[0]["ChannelId"]
    # the agent did not answer: their leg hung up before any Dial; not counted, due again
    dialer.handle(ChannelHungUp(T, channel, channel, "Local/1001@lab-agents-1;1", 19, "No answer"))
    await _settle()
    after = await store.get(task.id)
    assert after is not None and (after.status, after.attempts, after.outcome) == ("pending", 0, "agent_missed")
    assert dialer.free_agents("support") == [], "the agent who missed it rests"
    assert await dialer.tick() == 0
    clock[0] = T + 31
    assert await dialer.tick() == 1
    channel = ami.sent[1]["ChannelId"]
    dialer.handle(DialStarted(T, channel, channel, "x", "Local/138@c-1;1", "c1"))
    dialer.handle(DialEnded(T + 20, channel, channel, "x", "Local/138@c-1;1", "c1", "NOANSWER"))
    dialer.handle(ChannelHungUp(T + 21, channel, channel, "x", 16, "Normal"))
    await _settle()
    after = await store.get(task.id)
    assert after is not None and (after.status, after.attempts, after.outcome) == ("pending", 1, "no_answer")
    assert [body["event"] for _, body in offers] == ["ringing", "ended", "ringing", "ended"]


async def test_an_agent_is_not_free_again_before_their_last_attempts_end_is_recorded(db: Database) -> None:
    """The Dial's end (answered) and then the hangup come at once: the agent's next claim
    must not start before the first attempt's end is in the database."""
    ami = FakeAmi()
    clock = [T]
    dialer, store, _, _ = _dialer(db, ami, _board("1001"), now=clock)
    for n in range(2):
        await store.record_miss(Miss(f"1380000000{n}", Source.ABANDONED, T - 50 + n, queue="support"))
    assert await dialer.tick() == 1
    channel = ami.sent[0]["ChannelId"]
    writing = asyncio.Event()
    written = asyncio.Event()
    finish = store.finish

    async def slow_finish(*args: Any) -> CallbackInfo | None:
        writing.set()
        await written.wait()
        return await finish(*args)

    store.finish = slow_finish  # type: ignore[method-assign]
    clock[0] = T + 10
    dialer.handle(DialEnded(T + 10, channel, channel, "x", "Local/138@c-1;1", "c1", "ANSWER"))
    dialer.handle(ChannelHungUp(T + 10, channel, channel, "x", 16, "Normal"))
    await writing.wait()
    await _settle_briefly()
    assert dialer.free_agents("support") == [], "free before the end was written"
    written.set()
    await _settle()
    clock[0] = T + 11
    assert [a for a, _ in dialer.free_agents("support")] == ["Local/1001@lab-agents/n"]
    assert await dialer.tick() == 1
    attempts = [a for t in await store.search() for a in await store.attempts(t.id)]
    first, second = sorted(attempts, key=lambda a: a.id)
    assert first.ended_at is not None and second.started_at >= first.ended_at


async def _settle_briefly() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_after_a_restart_attempts_in_flight_are_followed_or_read_from_asterisk_never_redialled(
    db: Database,
) -> None:
    ami = FakeAmi()
    before, store, _, _ = _dialer(db, ami, _board("1001", "1002", "1003", "1004"))
    tasks = [(await store.record_miss(Miss(f"1380000000{n}", Source.ABANDONED, T - 50 + n, queue="support")))[0]
             for n in range(4)]
    assert await before.tick() == 4
    alive, answered, busy, _ = (a["ChannelId"] for a in ami.sent)
    # the server dies here; Asterisk still has the first attempt's agent leg, in its Dial;
    # the second's customer answered and the call ended, the third's was busy, the fourth's
    # agent never answered (no record)
    day = f"cti-attempt-{dt.datetime.fromtimestamp(T, dt.UTC):%Y%m%d}"
    restarted = FakeAmi([{"Uniqueid": alive, "Application": "Dial", "BridgeId": ""}],
                        {f"{day}/{answered}": "end:ANSWER", f"{day}/{busy}": "end:BUSY", f"{day}/{alive}": "dial"})
    after, store, changed, _ = _dialer(db, restarted, _board("1001", "1002", "1003", "1004"))
    await after.resolve(own=True)
    found = [await store.get(t.id) for t in tasks]
    assert [(f.status, f.attempts, f.outcome) for f in found if f is not None] == [
        ("dialing", 0, None), ("connected", 0, "connected"), ("pending", 1, "busy"), ("pending", 0, "agent_missed"),
    ]
    assert [a[0] for a in after.free_agents("support")] != [], "the agents of ended attempts are free"
    assert "Local/1001@lab-agents/n" not in dict(after.free_agents("support")), "1001 is on the followed call"
    after.handle(DialEnded(T + 5, alive, alive, "x", "Local/1@c-1;1", "c1", "ANSWER"))
    await _settle()
    assert (await store.get(tasks[0].id)).status == "connected"  # type: ignore[union-attr]
    assert restarted.sent == [], "nothing was dialled again"
    assert sorted(c.status for c in changed) == ["connected", "connected", "pending", "pending"]


async def test_a_dead_servers_attempts_are_resolved_by_a_live_one_once_its_lease_ran_out(db: Database) -> None:
    clock = [T]
    ami = FakeAmi()
    dead, store, _, _ = _dialer(db, ami, _board("1001", "1002"), server="s1", now=clock, lease=9)
    await DiallerLeases(db, "s1", 9).renew(T)
    for n in range(2):
        await store.record_miss(Miss(f"1380000000{n}", Source.ABANDONED, T - 50 + n, queue="support"))
    await dead._watch.hold()
    assert await dead.tick() == 2
    answered = ami.sent[0]["ChannelId"]
    day = f"cti-attempt-{dt.datetime.fromtimestamp(T, dt.UTC):%Y%m%d}"
    asterisk = FakeAmi([], {f"{day}/{answered}": "end:ANSWER"})
    live, store, _, _ = _dialer(db, asterisk, _board("1001", "1002"), server="s2", now=clock, lease=9)
    await live.resolve()
    assert len(await store.in_flight()) == 2, "s1's lease runs: its attempts are its own"
    clock[0] = T + 8
    assert dead._watch.may_originate() is False, "a lease with under a third left: no Originate"
    clock[0] = T + 10  # s1 is silent past its lease
    await live.resolve()
    assert await store.in_flight() == []
    outcomes = sorted(str(t.outcome) for t in await store.search())
    assert outcomes == ["agent_missed", "connected"], "the answered customer is not dialled again"
    assert asterisk.sent == []


async def test_attempts_that_ended_while_the_ami_link_was_down_are_ended_from_their_records(db: Database) -> None:
    """The server lives on but its AMI link drops while its callbacks go on: once it is back,
    the attempts whose channel is gone are finished from Asterisk's record (the customer who
    answered: connected), their agents freed; one claimed since, or still in Asterisk, is
    left to its events."""
    clock = [T]
    ami = FakeAmi()
    dialer, store, _, _ = _dialer(db, ami, _board("1001", "1002"), now=clock)
    for n in range(3):
        await store.record_miss(Miss(f"1380000000{n}", Source.ABANDONED, T - 50 + n, queue="support"))
    assert await dialer.tick() == 2
    answered, alive = (a["ChannelId"] for a in ami.sent)
    clock[0] = T + 5
    dialer.link_lost()
    clock[0] = T + 10
    day = f"cti-attempt-{dt.datetime.fromtimestamp(T, dt.UTC):%Y%m%d}"
    ami.channels = [{"Uniqueid": alive, "Application": "Dial", "BridgeId": ""}]
    ami.records = {f"{day}/{answered}": "end:ANSWER"}
    dialer.link_back()
    await _settle()
    outcomes = {t.number: (t.status, t.outcome) for t in await store.search()}
    assert outcomes["13800000000"] == ("connected", "connected"), outcomes
    assert outcomes["13800000001"] == ("dialing", None), "still in Asterisk: followed"
    assert [a for a, _ in dialer.free_agents("support")] == ["Local/1001@lab-agents/n"], "1001 is free again"
    assert await dialer.tick() == 1 and ami.sent[-1]["Exten"] == "13800000002", "the next task, not a redial"


async def test_only_ascii_digits_of_a_number_reach_originate(db: Database) -> None:
    """A caller id is the caller's to choose: separators and look-alike digits never reach
    Originate's Exten, its CallerID or the [callback] context's Dial."""
    ami = FakeAmi()
    dialer, store, _, _ = _dialer(db, ami, _board("1001"))
    ami.store = store
    await store.record_miss(Miss("+86 １３８-0013;8000&x,y", Source.ABANDONED, T - 50, queue="support"))
    assert await dialer.tick() == 1
    sent = ami.sent[0]
    assert sent["Exten"] == "8600138000"
    assert sent["CallerID"] == '"CB 8600138000" <8600138000>'
