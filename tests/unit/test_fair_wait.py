"""A fair wait without I/O (issue 23 part 2): the estimate (docs/fair-wait.md), the lines of
callers in Asterisk's order, when each is told, the words, and the service fed typed events
with a fake Originate and fake sounds."""

from __future__ import annotations

import asyncio
from typing import Any

from ctiserver.calls.model import PLACEHOLDER_PREFIX, CallTracker, is_announcement
from ctiserver.operations.check import permissions_result
from ctiserver.operations.snippets import dialplan_contexts, render_snippets
from ctiserver.settings import Settings
from ctiserver.telephony.events import ChannelCreated, ChannelHungUp, QueueCallerJoined, QueueCallerLeft
from ctiserver.waits.model import Answer, QueueLines, WaitEstimate, WaitRules, estimate
from ctiserver.waits.service import FairWait, news_action
from ctiserver.waits.words import announcement, zh_count

NOW = 1_800_000_000.0
RULES = WaitRules(window=7200, most_answers=30, min_answers=3, longest_minutes=60)


def _answers(*talk: float, queue: str = "repair", age: float = 600) -> list[Answer]:
    return [Answer(queue, NOW - age - i, t) for i, t in enumerate(talk)]


def test_the_estimate_is_position_times_mean_talk_over_agents() -> None:
    found = estimate(4, _answers(100, 140, 120, 120), 2, RULES, NOW)
    assert (found.position, found.minutes, found.more_than) == (4, 4, False)
    assert (found.answers, found.agents, found.mean_talk) == (4, 2, 120.0)
    assert estimate(1, _answers(50, 50, 50), 3, RULES, NOW).minutes == 1, "rounded up, at least one minute"
    assert estimate(2, _answers(100, 100, 100), 1, RULES, NOW).minutes == 4  # 200 s -> 4 min (3.33 up)


def test_no_estimate_the_data_cannot_support() -> None:
    assert estimate(4, [], 2, RULES, NOW) == WaitEstimate(4, answers=0, agents=2)
    assert estimate(4, _answers(100, 100), 2, RULES, NOW).minutes is None, "too few answers"
    assert estimate(4, _answers(100, 100, 100), 0, RULES, NOW).minutes is None, "nobody to answer"
    old = _answers(100, 100, 100, age=RULES.window + 10)
    assert estimate(4, old, 2, RULES, NOW).minutes is None, "answers older than the window"


def test_the_newest_answers_count_and_long_waits_are_capped() -> None:
    old_long = [Answer("repair", NOW - 5000 - i, 1000) for i in range(10)]
    recent_short = [Answer("repair", NOW - 100 - i, 60) for i in range(5)]
    rules = WaitRules(window=7200, most_answers=5, min_answers=3, longest_minutes=60)
    assert estimate(3, old_long + recent_short, 1, rules, NOW).minutes == 3
    capped = estimate(30, _answers(600, 600, 600), 1, RULES, NOW)
    assert (capped.minutes, capped.more_than) == (60, True)


def test_the_words_in_each_language() -> None:
    assert zh_count(2) == "两" and zh_count(14) == "十四" and zh_count(45) == "四十五" and zh_count(110) == "一百一十"
    told = WaitEstimate(4, 3)
    assert announcement(told, "zh") == "您现在排在第四位。预计等待约三分钟。请您耐心等待。"
    assert announcement(told, "en") == (
        "You are number four in the queue. The expected wait is about three minutes. Thank you for waiting.")
    assert announcement(WaitEstimate(2), "zh") == "您现在排在第二位。请您耐心等待。"
    assert announcement(WaitEstimate(1), "en") == "You are number one in the queue. Thank you for waiting."
    assert "超过六十分钟" in announcement(WaitEstimate(9, 60, True), "zh")
    assert "more than sixty minutes" in announcement(WaitEstimate(9, 60, True), "en")


def test_lines_follow_asterisks_positions_and_tell_on_time() -> None:
    lines = QueueLines(first_after=2, every=60)
    a = lines.joined("repair", "a", "a", "PJSIP/a-1", 1, NOW)
    b = lines.joined("repair", "b", "b", "PJSIP/b-1", 2, NOW + 1)
    vip = lines.joined("repair", "v", "v", "PJSIP/v-1", 1, NOW + 2)  # a higher priority goes first
    assert [lines.position(w) for w in (vip, a, b)] == [1, 2, 3]
    assert lines.due(NOW + 1) == []
    assert [(w.uniqueid, p) for w, p in lines.due(NOW + 3)] == [("a", 2), ("b", 3)], "2 s after they joined"
    assert [(w.uniqueid, p) for w, p in lines.due(NOW + 4)] == [("v", 1)]
    lines.left("repair", "v")
    assert lines.position(a) == 1 and lines.position(b) == 2
    lines.hung_up("a")
    assert lines.position(b) == 1 and lines.position(a) is None


def test_a_caller_listed_again_after_a_reconnection_keeps_their_schedule() -> None:
    lines = QueueLines(first_after=2, every=60)
    lines.joined("repair", "a", "a", "PJSIP/a-1", 1, NOW)
    assert [p for _, p in lines.due(NOW + 2)] == [1]
    lines.joined("repair", "a", "a", "PJSIP/a-1", 1, NOW - 5)  # QueueStatus's entry: joined Wait s ago
    assert lines.due(NOW + 10) == [] and lines.next_due() == NOW + 62
    restarted = QueueLines(first_after=2, every=60)
    restarted.joined("repair", "a", "a", "PJSIP/a-1", 1, NOW - 30)  # unknown to a server that restarted
    assert [p for _, p in restarted.due(NOW)] == [1], "told at once"


def test_a_callbacks_placeholder_holds_a_place_but_is_never_told() -> None:
    lines = QueueLines(first_after=0, every=60)
    lines.joined("repair", "cbq-1", "cbq-1", "Local/s@cti-callback-hold-1;2", 1, NOW, listening=False)
    caller = lines.joined("repair", "b", "b", "PJSIP/b-1", 2, NOW)
    assert [(w.uniqueid, p) for w, p in lines.due(NOW)] == [("b", 2)]
    assert lines.position(caller) == 2 and lines.next_due() == NOW + 60


def test_each_caller_is_told_at_entry_then_every_period() -> None:
    lines = QueueLines(first_after=2, every=60)
    lines.joined("repair", "a", "a", "PJSIP/a-1", 1, NOW)
    assert lines.due(NOW + 1.9) == []
    assert [p for _, p in lines.due(NOW + 2)] == [1]
    assert lines.due(NOW + 30) == []
    assert lines.next_due() == NOW + 62
    assert [p for _, p in lines.due(NOW + 62)] == [1]


class _Sounds:
    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    async def sound_for(self, text: str, language: str) -> str:
        self.made.append((text, language))
        return f"/prompts/{language}/{len(self.made)}"


async def test_the_service_tells_the_fourth_caller_their_place_and_wait() -> None:
    sent: list[dict[str, Any]] = []
    clock = [NOW]

    async def originate(action: dict[str, Any]) -> str | None:
        sent.append(action)
        return None

    history = {"repair": _answers(120, 120, 120, 120)}
    sounds = _Sounds()
    wait = FairWait(
        rules=RULES, lines=QueueLines(first_after=0.01, every=60),
        answers=lambda queue, since: [a for a in history.get(queue, []) if a.at >= since],
        agents=lambda queue: 1, language_of=lambda call: "en" if call == "d" else "zh",
        sounds=sounds, originate=originate, clock=lambda: clock[0],
    )
    for i, caller in enumerate("abcd", 1):
        wait.handle(QueueCallerJoined(NOW, caller, caller, f"PJSIP/lab-{i:08x}", "repair", i))
    wait.handle(QueueCallerJoined(NOW, "x", "x", "PJSIP/lab-x", "support", 1))
    wait.handle(QueueCallerJoined(NOW, f"{PLACEHOLDER_PREFIX}9", f"{PLACEHOLDER_PREFIX}9", "Local/s@h;2", "complaint", 1))
    clock[0] = NOW + 1
    runner = asyncio.create_task(wait.run())
    try:
        for _ in range(200):
            if len(wait.told) == 5:
                break
            await asyncio.sleep(0.01)
    finally:
        runner.cancel()
        await wait.stop()
    (fourth,) = wait.told_to("d")
    assert fourth.text == "You are number four in the queue. The expected wait is about eight minutes. " \
                          "Thank you for waiting."
    assert (fourth.estimate.position, fourth.estimate.minutes, fourth.language) == (4, 8, "en")
    assert wait.told_to(f"{PLACEHOLDER_PREFIX}9") == [], "a callback's placeholder hears nothing"
    (alone,) = wait.told_to("x")
    assert alone.text == "您现在排在第一位。请您耐心等待。", "no history of that queue: only the position"
    to_d = next(a for a in sent if "CTI_WAIT_CALL=d" in a["Variable"])
    assert to_d["Data"] == "PJSIP/lab-00000004,qwE" and to_d["Channel"] == "Local/s@cti-wait-news/n"
    wait.handle(QueueCallerLeft(NOW + 2, "a", "a", "PJSIP/lab-00000001", "repair"))
    wait.handle(ChannelHungUp(NOW + 2, "b", "b", "PJSIP/lab-00000002", 16, "Normal"))
    assert wait.estimate_for("repair", 2).minutes == 4


async def test_a_channel_name_that_is_not_one_is_never_whispered_to() -> None:
    sent: list[dict[str, Any]] = []

    async def originate(action: dict[str, Any]) -> str | None:
        sent.append(action)
        return None

    wait = FairWait(
        rules=RULES, lines=QueueLines(first_after=0, every=60), answers=lambda queue, since: [],
        agents=lambda queue: 1, language_of=lambda call: "zh", sounds=_Sounds(), originate=originate,
        clock=lambda: NOW,
    )
    wait.handle(QueueCallerJoined(NOW, "a", "a", "PJSIP/a,b(evil)", "repair", 1))
    ((waiting, position),) = wait.lines.due(NOW)
    await wait._tell(waiting, position)
    assert sent == [] and [told.channel_id for told in wait.told] == [""]
    action = news_action(wait.lines.joined("repair", "c", "c", "PJSIP/ok-1", 1, NOW), "/p/zh/1", "wn-1")
    assert action["Variable"] == ["CTI_WAIT_SOUND=/p/zh/1", "CTI_WAIT_CALL=c"]
    assert (action["ChannelId"], action["OtherChannelId"], action["Data"]) == ("wn-1", "wn-1-2", "PJSIP/ok-1,qwE")


def test_the_announcements_channels_are_no_calls() -> None:
    tracker = CallTracker(lambda: NOW)
    tracker.handle(ChannelCreated(NOW, "wn-1", "wn-1", "Local/s@cti-wait-news-00000001;1", "Wait", "", "cti-wait-news",
                                  "s", "Up"))
    tracker.handle(ChannelCreated(NOW, "c-1", "c-1", "PJSIP/caller-00000002", "13800138000", "", "hotline",
                                  "4008001234", "Ring"))
    assert [call.linkedid for call in tracker.active_calls()] == ["c-1"]
    assert is_announcement("wn-1") and not is_announcement("c-1") and not is_announcement(None)


def test_on_the_snippets_whisper_and_grant_originate_and_the_check_asks_for_it() -> None:
    off = Settings()
    on = off.replace(waits={"announce": True})
    assert off.waits.announce is False, "off unless the operator turns it on"
    quiet, told = render_snippets(off, "127.0.0.1"), render_snippets(on, "127.0.0.1")
    queues = len(on.hotline.queues)
    assert quiet["queues_ctiserver.conf"].count("announce-position = yes") == queues
    assert told["queues_ctiserver.conf"].count("announce-position = no") == queues
    assert told["queues_ctiserver.conf"].count("announce-frequency = 0") == queues
    assert "[cti-wait-news]" not in quiet["extensions_ctiserver.conf"]
    assert " same => n,Playback(${CTI_WAIT_SOUND})\n" in told["extensions_ctiserver.conf"]
    assert "cti-wait-news" in dialplan_contexts(on) and "cti-wait-news" not in dialplan_contexts(off)
    assert "write = call,agent,reporting,system\n" in quiet["manager_ctiserver.conf"]
    assert "write = call,agent,reporting,system,originate\n" in told["manager_ctiserver.conf"]

    needed = {"QueueAdd", "QueueRemove", "QueuePause", "BlindTransfer", "Atxfer", "CancelAtxfer", "CoreShowChannels", "CoreSettings",
              "ShowDialPlan", "StopMixMonitor", "MixMonitor"}
    assert permissions_result(needed).ok
    missing = permissions_result(needed, announcing=True)
    assert not missing.ok and "Originate" in missing.detail and "originate" in missing.fix
    granted = permissions_result(needed | {"Originate"}, announcing=True)
    assert granted.ok and "more than it needs" not in granted.detail
    assert "more than it needs" in permissions_result(needed | {"Originate"}).detail
