"""The callback key pressed in a queue (``callbacks.holding``) with a fake AGI session and a
fake AMI: the task (source ``queue``) is recorded and its attempt claimed before the
placeholder's Originate, which carries only the server's values (a configured queue, ASCII
digits, integers); the placeholder's agent is learnt from app_queue's events on its ``;2``
half and gets the callback offer; a placeholder nobody takes is agent_missed, not counted."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ctiserver.callbacks.dialer import HOLD_CHANNEL
from ctiserver.callbacks.holding import QueueCallbacks, placeholder_action
from ctiserver.callbacks.model import Miss, Source, dial_digits, queue_position
from ctiserver.callbacks.store import CallbackInfo
from ctiserver.calls.model import PLACEHOLDER_PREFIX, CallTracker, is_placeholder
from ctiserver.operations.snippets import dialplan_contexts, render_snippets
from ctiserver.settings import Settings, SettingsError
from ctiserver.storage.database import Database
from ctiserver.telephony.events import (
    AgentCalled,
    AgentConnected,
    AgentRingNoAnswer,
    ChannelCreated,
    ChannelHungUp,
    DialEnded,
    DialStarted,
    QueueCallerJoined,
    QueueCallerLeft,
)
from tests.unit.test_callbacks_dialer import AGENT, FakeAmi, T, _board, _dialer, _settings, _settle

CALL = "1764036000.17"


class FakeSession:
    """The caller's channel just out of the queue, as the AGI sees it."""

    def __init__(self, variables: dict[str, str], *, linkedid: str = CALL, caller: str | None = None) -> None:
        self.variables = dict(variables)
        self.linkedid = linkedid
        self.caller_number = caller
        self.set: dict[str, str] = {}

    async def get_variable(self, name: str) -> str | None:
        return self.variables.get(name)

    async def set_variable(self, name: str, value: str) -> None:
        self.set[name] = value


def _calls(number: str, queue: str = "support") -> CallTracker:
    """A call from ``number`` that waited 40 s in ``queue`` and left it with the key."""
    calls = CallTracker(lambda: T)
    calls.handle(ChannelCreated(T - 60, CALL, CALL, "Local/s@lab-caller-1;1", number, "张伟", "hotline",
                                "4008001234", "Ring"))
    calls.handle(QueueCallerJoined(T - 40, CALL, CALL, "Local/s@lab-caller-1;1", queue, 2))
    calls.handle(QueueCallerLeft(T, CALL, CALL, "Local/s@lab-caller-1;1", queue))
    return calls


async def _with_choices(miss: Miss) -> Miss:
    return Miss(miss.number, miss.source, miss.at, queue=miss.queue, reason=miss.reason,
                wait_seconds=miss.wait_seconds, linkedid=miss.linkedid,
                choices=("language:1", "main_menu:0"), vip=True)


def _holding(db: Database, calls: CallTracker, board_agents: tuple[str, ...] = ("1001", "1002")) -> tuple[
        QueueCallbacks, Any, FakeAmi, list[CallbackInfo], list[tuple[str, dict[str, Any]]]]:
    ami = FakeAmi()
    dialer, store, changed, offers = _dialer(db, ami, _board(*board_agents))
    ami.store = store
    holding = QueueCallbacks(store, dialer, calls, _settings(), enrich=_with_choices, clock=lambda: T,
                             changed=changed.append)
    return holding, dialer, ami, changed, offers


def test_the_words_of_a_placeholder() -> None:
    assert is_placeholder(f"{PLACEHOLDER_PREFIX}abc") and not is_placeholder("cb-abc")
    assert not is_placeholder(None) and not is_placeholder("1764036000.17")
    assert [queue_position(t) for t in ("3", " 1 ", "0", "", None, "-1", "1,2", "²", "１")] == [
        3, 1, None, None, None, None, None, None, None]
    assert dial_digits('+86 138-0013-8000"\r\nAction: x １²') == "8613800138000"
    assert Source("queue") is Source.QUEUE


def test_the_callback_key_is_one_key() -> None:
    assert Settings().hotline.queue_callback_key == "*"
    for bad in ("12", "a", ",", "*)"):
        with pytest.raises(SettingsError):
            Settings().replace(hotline={"queue_callback_key": bad})
    assert Settings().replace(hotline={"queue_callback_key": ""}).hotline.queue_callback_key == ""


async def test_the_key_records_the_task_claims_it_then_queues_a_placeholder_at_the_callers_place(
    db: Database,
) -> None:
    holding, _, ami, changed, _ = _holding(db, _calls("13800138000"))
    session = FakeSession({"QUEUEPOSITION": "2", "QUEUE_PRIO": "5"})
    await holding.agi(session)  # type: ignore[arg-type]
    assert session.set == {"CTI_QUEUE_CALLBACK": "ok"}
    (action,) = ami.sent
    assert ami.checked_db == [action["ChannelId"]], "the attempt was claimed before the Originate"
    assert action["ChannelId"].startswith(PLACEHOLDER_PREFIX) and action["OtherChannelId"] == action["ChannelId"] + "-2"
    assert (action["Channel"], action["Context"], action["Exten"]) == (HOLD_CHANNEL, "callback", "13800138000")
    task = changed[0]
    assert (task.source, task.queue, task.status, task.call_linkedid) == ("queue", "support", "pending", CALL)
    assert task.wait_seconds == 40.0 and task.reason == "queue"  # the source: no English prose
    assert (task.vip, task.choices) == (True, ("language:1", "main_menu:0"))
    assert [c.status for c in changed] == ["pending", "dialing"]
    (attempt,) = await holding._store.attempts(task.id)
    assert (attempt.channel_id, attempt.agent, attempt.ended_at) == (action["ChannelId"], None, None)
    assert action["Variable"] == [
        f"CTI_CALLBACK={task.id}", f"CTI_CALLBACK_ATTEMPT={attempt.id}", "CTI_HOLD_QUEUE=support",
        "CTI_HOLD_POSITION=2", "CTI_HOLD_TIMEOUT=1800", "QUEUE_PRIO=5",
    ]
    assert action["Timeout"] == str((1800 + 30) * 1000)


async def test_only_the_servers_values_reach_the_placeholder(db: Database) -> None:
    holding, _, ami, changed, _ = _holding(db, _calls('+86 138-0013-8000"\r\nAction: Command １'))
    session = FakeSession({"QUEUEPOSITION": "1,2", "QUEUE_PRIO": "9)|Set(X=1"})
    await holding.agi(session)  # type: ignore[arg-type]
    (action,) = ami.sent
    assert action["Exten"] == "8613800138000"
    assert action["CallerID"] == '"CB 8613800138000" <8613800138000>'
    assert "CTI_HOLD_POSITION=" in action["Variable"] and "QUEUE_PRIO=0" in action["Variable"]
    assert all("\n" not in str(v) and "Action" not in str(v) for v in action.values())
    assert changed[0].reason == "queue" and changed[0].queue == "support"


async def test_a_call_not_in_a_configured_queue_goes_back_to_the_queue(db: Database) -> None:
    holding, _, ami, changed, _ = _holding(db, _calls("13800138000", queue="support,x"))
    session = FakeSession({"QUEUEPOSITION": "1"})
    await holding.agi(session)  # type: ignore[arg-type]
    assert (session.set, ami.sent, changed) == ({}, [], []), "nothing recorded: the dialplan re-queues the caller"


async def test_the_placeholder_action_refuses_what_is_not_the_servers(db: Database) -> None:
    _, dialer, _, _, _ = _holding(db, _calls("13800138000"))
    task, _ = await dialer._store.record_miss(Miss("13800138000", Source.QUEUE, T, queue="support"))
    claim = await dialer._store.claim_task(task.id, T, channel_id=f"{PLACEHOLDER_PREFIX}1")
    assert claim is not None and claim.attempt.agent is None and claim.task.status == "dialing"
    assert await dialer._store.claim_task(task.id, T, channel_id=f"{PLACEHOLDER_PREFIX}2") is None, "once"
    with pytest.raises(ValueError, match="not a queue"):
        placeholder_action(_settings(), claim.task, claim.attempt, queue="support,x", position=1, priority=0)
    with pytest.raises(ValueError, match="no digits"):
        placeholder_action(_settings(), dataclasses.replace(claim.task, number="张伟"), claim.attempt,
                           queue="support", position=1, priority=0)


async def test_a_task_already_being_called_back_gets_no_second_placeholder(db: Database) -> None:
    holding, dialer, ami, changed, _ = _holding(db, _calls("13800138000"), board_agents=("1001",))
    store = dialer._store
    await store.record_miss(Miss("13800138000", Source.ABANDONED, T - 500, queue="support"))
    assert await dialer.tick() == 1  # the dialler rings agent 1001 for it
    session = FakeSession({"QUEUEPOSITION": "1"})
    await holding.agi(session)  # type: ignore[arg-type]
    assert session.set == {"CTI_QUEUE_CALLBACK": "ok"}, "the caller is owed a call all the same"
    assert len(ami.sent) == 1 and changed[-1].misses == 2 and changed[-1].status == "dialing"


async def test_the_placeholders_agent_gets_the_offer_and_the_outcome(db: Database) -> None:
    holding, dialer, ami, _, offers = _holding(db, _calls("13800138000"))
    await holding.agi(FakeSession({"QUEUEPOSITION": "1"}))  # type: ignore[arg-type]
    one = ami.sent[0]["ChannelId"]
    two = f"{one}-2"
    agent1, agent2 = AGENT.format(extension="1001"), AGENT.format(extension="1002")
    hold = "Local/s@cti-callback-hold-1;2"
    dialer.handle(AgentCalled(T + 1, two, one, hold, "support", agent1, "agent 1001", None, None))
    dialer.handle(AgentRingNoAnswer(T + 16, two, one, hold, "support", agent1, "agent 1001", None, None, 15))
    dialer.handle(AgentCalled(T + 17, two, one, hold, "support", agent2, "agent 1002", None, None))
    dialer.handle(AgentConnected(T + 19, two, one, hold, "support", agent2, "agent 1002", None, None, 19, 2))
    assert [(i, body["event"]) for i, body in offers] == [(agent1, "ringing"), (agent1, "ended"),
                                                          (agent2, "ringing")]
    assert offers[0][1]["callback"]["source"] == "queue"
    dialer.handle(DialStarted(T + 19, one, one, "Local/s@cti-callback-hold-1;1", "Local/138@c-1;1", "c1"))
    dialer.handle(DialEnded(T + 22, one, one, "Local/s@cti-callback-hold-1;1", "Local/138@c-1;1", "c1", "ANSWER"))
    await _settle()
    task = await dialer._store.get(offers[0][1]["callback"]["id"])
    assert task is not None and (task.status, task.outcome, task.agent) == ("connected", "connected", "1002")
    (attempt,) = await dialer._store.attempts(task.id)
    assert (attempt.agent, attempt.outcome) == ("1002", "connected")
    assert offers[-1] == (agent2, {"event": "answered", "attempt": attempt.id, "callback": task.to_dict()})
    assert dialer.free_agents("support") == [(agent1, "1001")], "1002 is on the callback"


async def test_a_placeholder_nobody_takes_is_not_the_customers_failure(db: Database) -> None:
    holding, dialer, ami, _, offers = _holding(db, _calls("13800138000"))
    await holding.agi(FakeSession({"QUEUEPOSITION": "1"}))  # type: ignore[arg-type]
    one = ami.sent[0]["ChannelId"]
    dialer.handle(ChannelHungUp(T + 1800, one, one, "Local/s@cti-callback-hold-1;1", 16, "Normal"))
    await _settle()
    (task,) = await dialer._store.search(number="13800138000")
    assert (task.status, task.outcome, task.attempts) == ("pending", "agent_missed", 0)
    assert offers == []
    assert await dialer.tick() == 1, "due again at once, for the dialler"


def test_the_queues_and_dialplan_offer_the_key_and_hold_places() -> None:
    settings = _settings()
    snippets = render_snippets(settings, "127.0.0.1")
    queues = snippets["queues_ctiserver.conf"]
    assert queues.count("context = cti-queue-callback") == len(settings.hotline.queues)
    assert queues.count("announce-position = yes") == len(settings.hotline.queues)
    assert "announce-frequency = 30" in queues
    dialplan = snippets["extensions_ctiserver.conf"]
    assert "exten => *,1,NoOp(Callback asked in queue at position ${QUEUEPOSITION}" in dialplan
    # Asterisk 22's Queue: queuename, options, URL, announceoverride, timeout, AGI, gosub, rule, position
    assert "Queue(${CTI_HOLD_QUEUE},t,,,${CTI_HOLD_TIMEOUT},,cti-record,,${CTI_HOLD_POSITION})" in dialplan
    contexts = dialplan_contexts(settings)
    assert {"cti-queue-callback", "cti-callback-hold", "cti-record"} <= set(contexts)
    off = settings.replace(hotline={"queue_callback_key": ""})
    assert "context = " not in render_snippets(off, "127.0.0.1")["queues_ctiserver.conf"]
    assert "cti-queue-callback" not in dialplan_contexts(off)


async def test_the_dialler_does_not_jump_callers_waiting_in_the_queue(db: Database) -> None:
    ami = FakeAmi()
    dialer, store, _, _ = _dialer(db, ami, _board("1001"))
    waiting = {"support"}
    dialer._waiting = lambda queue: queue in waiting
    await store.record_miss(Miss("13800000000", Source.ABANDONED, T - 50, queue="support"))
    assert await dialer.tick() == 0 and ami.sent == [], "a caller waits in support: the agent serves them first"
    waiting.clear()
    assert await dialer.tick() == 1
