"""Issue 23 part 2 acceptance, against real Asterisk: callers waiting in a queue are told their
position and the server's estimate of their wait (docs/fair-wait.md), whispered into their
channel while they wait, in the language they chose.

One agent is logged in and ready but slow to answer, so callers wait. With no history of
answered calls, the first caller hears only their position. Then the queue's recent answers
are in the statistics log (as a restart reads back the day's: four calls of 120 s), and three
more callers join: the fourth, who chose English, hears position 4 and an estimate of
4 x 120 s / 1 agent = 8 minutes. Each announcement is checked from the server's record of what
it said, Asterisk's ChanSpy whispering into that caller's channel, and the played half's
CtiWaitNews user event. One lab for the whole story."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ctiserver.calls.model import is_announcement
from ctiserver.lab.caller import IvrCaller, place_call, set_global
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.stats.model import CallCompleted
from ctiserver.waits.service import FairWait, Told
from tests.integration.conftest import LabFactory, eventually, lab_settings
from tests.support.callbacks_lab import login

pytestmark = pytest.mark.integration

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
CALLERS = ("13800138000", "13912345678", "13500001111", "13600002222")


async def _queued(lab: Lab, number: str, language_key: str) -> IvrCaller:
    caller = IvrCaller(lab, await place_call(lab, LabCall(number, dtmf_delay=0.1)))
    await caller.press(language_key)
    await caller.queue_entry("support")
    return caller


async def _told(lab: Lab, wait: FairWait, caller: IvrCaller, events: list[dict[str, Any]]) -> Told:
    """The server's first announcement to ``caller``, once Asterisk whispered it to their channel."""

    async def said() -> Told | None:
        told = wait.told_to(caller.call_id)
        return told[0] if told else None

    told = await eventually(said, 30, f"an announcement to {caller.call_id}")
    assert told.channel_id, "the Originate was taken"
    queued_channel = next(w.channel for w in wait.lines.waiting("support") if w.linkedid == caller.call_id)

    async def whispered() -> bool:
        spied = any(e.get("Event") == "ChanSpyStart" and e.get("SpyeeChannel") == queued_channel for e in events)
        played = any(e.get("UserEvent") == "CtiWaitNews" and e.get("Call") == caller.call_id
                     and e.get("Status") == "SUCCESS" for e in events)
        return spied and played

    await eventually(whispered, 30, f"the announcement whispered to {queued_channel} and played")
    assert lab.server is not None
    assert not [c for c in lab.server.calls.active_calls() if is_announcement(c.linkedid)], "no call of its own"
    return told


async def test_waiting_callers_hear_their_position_and_an_estimate_only_the_data_supports(
    make_lab: LabFactory, tmp_path: Path
) -> None:
    lab = await make_lab(lab_settings(tmp_path, flow=CHOOSE_LANGUAGE, lab={"login_agents": False},
                                      waits={"announce": True, "first_after": 0.5, "every": 600}))
    assert lab.server is not None and lab.server.fair_wait is not None
    wait = lab.server.fair_wait
    events: list[dict[str, Any]] = []
    lab.server.ami.on_event(lambda m: events.append(dict(m))
                            if m.get("Event") == "ChanSpyStart" or m.get("UserEvent") == "CtiWaitNews" else None)
    await set_global(lab, "LAB_ANSWER_DELAY", "120")  # the agent's phone rings, nobody answers
    await login(lab, "1001")

    first = await _queued(lab, CALLERS[0], "1")
    alone = await _told(lab, wait, first, events)
    assert alone.text == "您现在排在第一位。请您耐心等待。", "no history: only the position"
    assert (alone.estimate.position, alone.estimate.minutes) == (1, None)
    assert (alone.estimate.answers, alone.estimate.agents) == (0, 1)

    # the queue's answered calls of the last hour, as the statistics log holds them after a restart
    now = time.time()
    history = [CallCompleted(now - 600 - 60 * i, "support", f"history-{i}", f"history-{i}",
                             "Local/1002@lab-agents/n", 120.0, "caller") for i in range(4)]
    await lab.server.stats_records.append(history)
    lab.server.stats.restore(history)

    second = await _queued(lab, CALLERS[1], "1")
    third = await _queued(lab, CALLERS[2], "1")
    fourth = await _queued(lab, CALLERS[3], "2")
    told = await _told(lab, wait, fourth, events)
    assert (told.estimate.position, told.estimate.minutes, told.language) == (4, 8, "en")
    assert told.text == ("You are number four in the queue. The expected wait is about eight minutes. "
                         "Thank you for waiting.")
    assert (told.estimate.answers, told.estimate.agents, told.estimate.mean_talk) == (4, 1, 120.0)
    behind_one = await _told(lab, wait, second, events)
    assert behind_one.text == "您现在排在第二位。预计等待约四分钟。请您耐心等待。"
    assert len(wait.told_to(first.call_id)) == 1, "told again only every waits.every seconds"
    for caller in (first, second, third, fourth):
        await caller.hang_up()
