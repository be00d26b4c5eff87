"""A fair wait, live: follows who waits in which queue (the AMI's queue events), and tells
each caller, a moment after they join and then every ``waits.every`` seconds, their
position and the server's estimate (``model.estimate``), in the language they chose in
the IVR.

How the caller hears it while app_queue plays them music: the server synthesises the
sentence (the IVR's prompt library), then Originates a Local channel whose one half plays
it ([cti-wait-news] in the dialplan) and whose other half whispers it into the caller's
channel (ChanSpy with options ``q`` quiet, ``w`` whisper, ``E`` end with the caller). The
caller stays in the queue, in their place. The Local channel's id (``ANNOUNCEMENT_PREFIX``)
tells the call model it is no call (no record, no live call, no statistics). The played half
reports with the AMI user event ``CtiWaitNews`` (the call, PLAYBACKSTATUS). Every announcement
is also kept (``told``) and logged with what the estimate was made from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ctiserver.calls.model import ANNOUNCEMENT_PREFIX, is_placeholder
from ctiserver.telephony.events import ChannelHungUp, QueueCallerAbandoned, QueueCallerJoined, QueueCallerLeft
from ctiserver.waits.model import Answer, QueueLines, WaitEstimate, Waiting, WaitRules, estimate
from ctiserver.waits.words import announcement

log = logging.getLogger(__name__)

#: the dialplan context whose ``s`` extension plays the sentence ([cti-wait-news])
NEWS_CONTEXT = "cti-wait-news"
NEWS_CHANNEL = f"Local/s@{NEWS_CONTEXT}/n"
#: what a caller's channel name may hold before it goes into ChanSpy's arguments
SAFE_CHANNEL = re.compile(r"[A-Za-z0-9/@;._-]{1,128}")
#: announcements remembered (the newest)
KEPT = 500


class Sounds(Protocol):
    async def sound_for(self, text: str, language: str) -> str: ...


@dataclass(frozen=True)
class Told:
    """One announcement to a waiting caller."""

    linkedid: str
    queue: str
    at: float
    language: str
    text: str
    estimate: WaitEstimate
    #: the Originate's channel id ("": not sent)
    channel_id: str


class FairWait:
    def __init__(
        self,
        *,
        rules: WaitRules,
        lines: QueueLines,
        answers: Callable[[str, float], Sequence[Answer]],
        agents: Callable[[str], int],
        language_of: Callable[[str], str],
        sounds: Sounds,
        originate: Callable[[dict[str, Any]], Awaitable[str | None]],
        clock: Callable[[], float],
    ) -> None:
        """``answers(queue, since)``: the queue's answered calls since then; ``agents(queue)``:
        how many of its agents are logged in and not paused; ``language_of(call id)``: the
        caller's language; ``originate(action)``: None when Asterisk took it, else why not."""
        self.rules = rules
        self.lines = lines
        self._answers = answers
        self._agents = agents
        self._language_of = language_of
        self._sounds = sounds
        self._originate = originate
        self._clock = clock
        self.told: deque[Told] = deque(maxlen=KEPT)
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()

    def handle(self, event: object) -> None:
        """The typed events of the AMI stream (``Core.follow``)."""
        if isinstance(event, QueueCallerJoined):
            self.lines.joined(event.queue, event.uniqueid, event.linkedid, event.channel, event.position, event.at,
                              listening=not is_placeholder(event.linkedid))
            self._wake.set()
        elif isinstance(event, (QueueCallerLeft, QueueCallerAbandoned)):
            self.lines.left(event.queue, event.uniqueid)
        elif isinstance(event, ChannelHungUp):
            self.lines.hung_up(event.uniqueid)

    def estimate_for(self, queue: str, position: int) -> WaitEstimate:
        now = self._clock()
        return estimate(position, self._answers(queue, now - self.rules.window), self._agents(queue), self.rules, now)

    async def run(self) -> None:
        """Tell the callers who are due, then sleep until the next one is (or one joins)."""
        while True:
            for waiting, position in self.lines.due(self._clock()):
                task = asyncio.get_running_loop().create_task(self._tell(waiting, position))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            next_due = self.lines.next_due()
            delay = 5.0 if next_due is None else min(max(next_due - self._clock(), 0.05), 5.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _tell(self, waiting: Waiting, position: int) -> None:
        found = self.estimate_for(waiting.queue, position)
        language = self._language_of(waiting.linkedid)
        text = announcement(found, language)
        channel_id = ""
        try:
            if SAFE_CHANNEL.fullmatch(waiting.channel) is None:
                raise ValueError(f"not a channel name to whisper to: {waiting.channel!r}")
            sound = await self._sounds.sound_for(text, language)
            if self.lines.position(waiting) is None:
                return  # answered or gone while the sentence was made
            channel_id = f"{ANNOUNCEMENT_PREFIX}{secrets.token_hex(8)}"
            refusal = await self._originate(news_action(waiting, sound, channel_id))
            if refusal is not None:
                log.warning("call %s: the wait announcement was not sent: %s", waiting.linkedid, refusal)
                channel_id = ""
        except Exception:
            log.exception("call %s: the wait announcement failed", waiting.linkedid)
            channel_id = ""
        self.told.append(Told(waiting.linkedid, waiting.queue, self._clock(), language, text, found, channel_id))
        log.info("call %s in %s: told %r (position %d; %d recent answers, mean talk %s s, %d agents)",
                 waiting.linkedid, waiting.queue, text, position, found.answers,
                 f"{found.mean_talk:.0f}" if found.mean_talk is not None else "-", found.agents)

    def told_to(self, linkedid: str) -> list[Told]:
        return [told for told in self.told if told.linkedid == linkedid]

    async def stop(self) -> None:
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)


def news_action(waiting: Waiting, sound: str, channel_id: str) -> dict[str, Any]:
    """The Originate whose ;2 half plays ``sound`` and whose ;1 half whispers it to the caller.
    Every value is the server's own: the sound its prompt's name, the channel checked."""
    return {
        "Action": "Originate",
        "Channel": NEWS_CHANNEL,
        "Application": "ChanSpy",
        "Data": f"{waiting.channel},qwE",
        "Async": "true",
        "Timeout": "30000",
        "CallerID": '"Wait" <wait>',
        "ChannelId": channel_id,
        "OtherChannelId": f"{channel_id}-2",
        "Variable": [f"CTI_WAIT_SOUND={sound}", f"CTI_WAIT_CALL={waiting.linkedid}"],
    }
