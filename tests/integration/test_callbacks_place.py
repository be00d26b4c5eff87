"""A caller who chooses a callback while waiting in the queue keeps their place, against real
Asterisk: with no agent ready, caller A queues, then caller B; A presses the callback key
(queues.conf context=) and is hung up; the task is recorded and a placeholder waits in the
queue at A's position (AMI QueueStatus: the placeholder first, B second); when an agent
becomes ready their phone rings for the placeholder first (their desk's callback offer,
no ordinary pop), they answer, the customer's Local channel is dialled and answers, the
task is connected; B is served only after, by the next agent ready. While they wait, each is
told of the key in the language they chose in the IVR (the queue's periodic announcement of
the server's prompt, zh for A, en for B: Asterisk's log of what it played to their channel),
and A is thanked in Chinese once the callback is recorded (CtiQueueCallbackThanks)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ctiserver.callbacks.keyprompts import KEY_ANNOUNCE, KEY_THANKS, key_prompts
from ctiserver.callbacks.store import CallbackInfo, CallbackRepository
from ctiserver.calls.model import PLACEHOLDER_PREFIX
from ctiserver.lab.caller import IvrCaller, place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.stats.model import CallAbandoned, CallAnswered, CallOffered, CallUnanswered
from tests.integration.conftest import LabFactory, eventually
from tests.support.callbacks_lab import CUSTOMER, callback_settings, desk_of  # noqa: F401  (desk_of: a fixture)
from tests.support.callbacks_lab import customer_legs as _customer_legs
from tests.support.callbacks_lab import login as _login

__all__ = ["desk_of"]  # the fixture, shared with test_callbacks

OTHER = "13900139000"
#: the caller's language first (1 zh, 2 en), then the queue
CHOOSE_LANGUAGE = """\
flow: choose
entry: "4008001234"
language: zh
start: language
nodes:
  language: {kind: language, prompt: "中文请按1。For English, press 2.", options: {"1": zh, "2": en}, next: agents}
  agents: {kind: queue, queue: support}
"""


async def _queue_entries(lab: Lab, queue: str) -> list[dict[str, Any]]:
    listing = await lab.phones.send_list_action({"Action": "QueueStatus", "Queue": queue})
    entries = [dict(m) for m in listing if m.get("Event") == "QueueEntry"]
    return sorted(entries, key=lambda m: int(m["Position"]))


def _played_languages(lab: Lab, call_id: str, sound: str) -> list[str]:
    """The languages in which Asterisk played ``sound`` to the call's queued channel, from its
    log (verbose 3: file.c's "<channel> Playing 'sound.format' (language 'xx')")."""
    assert lab.asterisk is not None and lab.server is not None
    call = lab.server.calls.get(call_id)
    assert call is not None
    channel = call.legs[call_id].channel
    log = lab.asterisk.install.host_path(lab.asterisk.layout.log) / "messages.log"
    played = re.compile(rf"<{re.escape(channel)}> Playing '{re.escape(sound)}\.\w+' \(language '(\w+)'\)")
    return played.findall(log.read_text(encoding="utf-8", errors="replace"))


async def test_a_caller_who_chooses_a_callback_in_the_queue_keeps_their_place(
    make_lab: LabFactory, tmp_path: Path, desk_of: Any
) -> None:
    lab = await make_lab(callback_settings(tmp_path, flow=CHOOSE_LANGUAGE, key_announce_after=1,
                                           key_announce_every=20))
    assert lab.server is not None
    store: CallbackRepository = lab.server.callbacks.store
    queue = lab.settings.hotline.default_queue
    key = lab.settings.hotline.queue_callback_key
    prompts = key_prompts(lab.settings)
    assert prompts.announce.endswith(f"/{KEY_ANNOUNCE}") and prompts.thanks.endswith(f"/{KEY_THANKS}")
    published = Path(lab.settings.ivr.prompt_dir)
    zh, en = (published / "zh" / f"{KEY_ANNOUNCE}.wav"), (published / "en" / f"{KEY_ANNOUNCE}.wav")
    assert zh.read_bytes() != en.read_bytes(), "the server's offer, synthesised in each language"
    thanks: list[dict[str, Any]] = []
    lab.server.ami.on_event(lambda m: thanks.append(dict(m)) if m.get("UserEvent") == "CtiQueueCallbackThanks"
                            else None)
    desk = await desk_of(lab)
    caller_a = IvrCaller(lab, await place_call(lab, LabCall(CUSTOMER, dtmf_delay=0.1)))
    await caller_a.press("1")  # 中文
    await caller_a.queue_entry(queue)
    caller_b = IvrCaller(lab, await place_call(lab, LabCall(OTHER, dtmf_delay=0.1)))
    await caller_b.press("2")  # English
    await caller_b.queue_entry(queue)
    assert [e["Uniqueid"] for e in await _queue_entries(lab, queue)] == [caller_a.call_id, caller_b.call_id]

    async def offered_to(call_id: str) -> list[str]:
        return _played_languages(lab, call_id, prompts.announce)

    assert set(await eventually(lambda: offered_to(caller_a.call_id), 15, "A to be told of the key")) == {"zh"}
    assert set(await eventually(lambda: offered_to(caller_b.call_id), 15, "B to be told of the key")) == {"en"}

    await lab.phones.send_action(
        {"Action": "PlayDTMF", "Channel": caller_a.caller_channel(), "Digit": key, "Duration": "200"}
    )

    async def held() -> CallbackInfo | None:
        tasks = await store.search(number=CUSTOMER)
        return tasks[0] if tasks and tasks[0].status == "dialing" else None

    task = await eventually(held, 20, "A's callback task, claimed for its placeholder")
    assert (task.source, task.queue, task.call_linkedid) == ("queue", queue, caller_a.call_id)
    assert task.wait_seconds is not None and task.wait_seconds >= 0
    assert task.reason == "queue", "the source's code: the pages say it in their language"
    (attempt,) = await store.attempts(task.id)
    assert attempt.channel_id.startswith(PLACEHOLDER_PREFIX) and attempt.agent is None

    async def a_gone() -> bool:
        return lab.server.calls.get(caller_a.call_id) is None or \
            lab.server.calls.get(caller_a.call_id).ended_at is not None  # type: ignore[union-attr]

    await eventually(a_gone, 20, "A to be thanked and hung up")

    async def thanked() -> list[dict[str, Any]]:
        return thanks

    (thanked_a,) = await eventually(thanked, 5, "A's thanks")
    assert (thanked_a["Uniqueid"], thanked_a["Language"]) == (caller_a.call_id, "zh"), "in A's language"
    assert (thanked_a["Prompt"], thanked_a["Status"]) == (prompts.thanks, "SUCCESS"), "the server's prompt, played"
    assert (published / "zh" / f"{KEY_THANKS}.wav").is_file()

    async def placeholder_first() -> list[dict[str, Any]] | None:
        entries = await _queue_entries(lab, queue)
        return entries if len(entries) == 2 else None

    first, second = await eventually(placeholder_first, 15, "the placeholder to join the queue")
    assert (first["Position"], first["Uniqueid"]) == ("1", f"{attempt.channel_id}-2"), "A's place is held"
    assert (second["Position"], second["Uniqueid"]) == ("2", caller_b.call_id), "B is not jumped ahead"

    await _login(lab, "1001")

    async def offered() -> list[dict[str, Any]]:
        return desk.offers("ringing")

    (offer,) = await eventually(offered, 15, "the callback offer on agent 1001's desk")
    assert offer["callback"]["id"] == task.id and offer["callback"]["source"] == "queue"
    assert offer["callback"]["number"] == CUSTOMER and offer["attempt"] == attempt.id

    async def connected() -> CallbackInfo | None:
        found = await store.get(task.id)
        return found if found is not None and found.status == "connected" else None

    done = await eventually(connected, 25, "the callback to connect")
    assert (done.outcome, done.agent, done.attempts) == ("connected", "1001", 0)
    (leg,) = _customer_legs(lab, CUSTOMER)
    assert leg[0] == attempt.channel_id, "the customer is dialled from the placeholder's call"
    assert leg[2] == lab.settings.hotline.number, "the customer sees the hotline's number"
    (attempt,) = await store.attempts(task.id)
    assert (attempt.outcome, attempt.agent) == ("connected", "1001")
    assert [m["event"] for m in desk.messages if m.get("type") == "callback_offer"] == ["ringing", "answered"]
    assert not [m for m in desk.messages if m.get("type") == "pop"], "a placeholder is no customer's call to pop"
    (waiting,) = await _queue_entries(lab, queue)
    assert (waiting["Position"], waiting["Uniqueid"]) == ("1", caller_b.call_id), "B still waits"
    placeholder_call = lab.server.calls.get(attempt.channel_id)
    assert placeholder_call is not None and placeholder_call.answered_at is not None

    await _login(lab, "1002")

    async def b_answered() -> float | None:
        call = lab.server.calls.get(caller_b.call_id)
        return None if call is None else call.answered_at

    b_answered_at = await eventually(b_answered, 20, "B to be served by the next agent")
    assert b_answered_at > placeholder_call.answered_at
    records = lab.server.stats.records()
    calls = [r for r in records if isinstance(r, (CallOffered, CallAnswered, CallAbandoned, CallUnanswered))]
    assert not [r for r in calls if r.linkedid.startswith(PLACEHOLDER_PREFIX)], "placeholders are not counted"
    offered_calls = [r.linkedid for r in records if isinstance(r, CallOffered)]
    assert offered_calls == [caller_a.call_id, caller_b.call_id]
    assert [r.linkedid for r in records if isinstance(r, CallAnswered)] == [caller_b.call_id]
    assert not [r for r in records if isinstance(r, CallAbandoned)], "A left with the key: no abandon"


async def test_a_placeholder_no_agent_takes_goes_back_to_the_dialler(make_lab: LabFactory, tmp_path: Path) -> None:
    lab = await make_lab(callback_settings(tmp_path, hold_timeout=2))
    assert lab.server is not None
    store: CallbackRepository = lab.server.callbacks.store
    queue = lab.settings.hotline.default_queue
    caller = IvrCaller(lab, await place_call(lab, LabCall(CUSTOMER, dtmf_delay=0.1)))
    await caller.queue_entry(queue)
    await lab.phones.send_action({"Action": "PlayDTMF", "Channel": caller.caller_channel(),
                                  "Digit": lab.settings.hotline.queue_callback_key, "Duration": "200"})

    async def back_to_pending() -> CallbackInfo | None:
        tasks = await store.search(number=CUSTOMER)
        return tasks[0] if tasks and tasks[0].status == "pending" and tasks[0].outcome else None

    task = await eventually(back_to_pending, 25, "the placeholder to time out")
    assert (task.source, task.outcome, task.attempts) == ("queue", "agent_missed", 0), "not the customer's failure"
    (attempt,) = await store.attempts(task.id)
    assert attempt.channel_id.startswith(PLACEHOLDER_PREFIX) and attempt.ended_at is not None
    assert await _queue_entries(lab, queue) == [], "the placeholder left the queue"
    await _login(lab, "1001")

    async def called_back() -> CallbackInfo | None:
        found = await store.get(task.id)
        return found if found is not None and found.status == "connected" else None

    await eventually(called_back, 25, "the dialler to call the customer back, agent first")
    second = (await store.attempts(task.id))[-1]
    assert second.channel_id.startswith("cb-") and second.agent == "1001"
