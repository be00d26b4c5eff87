"""A fair wait, pure: who waits where in which queue, the queue's recent answers, the
estimate of a caller's wait (docs/fair-wait.md) and when each caller is told.

No I/O: fed typed queue events and statistics records, asked with the time.

The estimate. A caller at position ``p`` waits for ``p`` agents to come free. With ``A``
agents of the queue logged in and not paused, each taking calls that last ``H`` seconds on
average, an agent comes free every ``H / A`` seconds on average, so::

    wait = p * H / A

``H`` is the mean talk time of the queue's most recent answered calls (at most
``most_answers`` of them, within ``window`` seconds): the server's own record of its
answers, not Asterisk's running average of hold times. There is no estimate (the caller
hears only their position) when the data cannot support one: fewer than ``min_answers``
recent answered calls, or no agent available. The estimate is said in whole minutes, rounded
up (at least one); above ``longest_minutes`` it is said as "more than" that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """An answered call of a queue that ended: when, and how long the agent talked."""

    queue: str
    at: float
    talk_seconds: float


@dataclass(frozen=True)
class WaitRules:
    window: float = 7200.0
    most_answers: int = 30
    min_answers: int = 3
    longest_minutes: int = 60


@dataclass(frozen=True)
class WaitEstimate:
    """What a caller is told: their position, and the minutes they may wait (None: no
    estimate the data supports); ``more_than``: the wait is longer than ``minutes``."""

    position: int
    minutes: int | None = None
    more_than: bool = False
    #: what the estimate was made from (the log and the tests say it)
    answers: int = 0
    agents: int = 0
    mean_talk: float | None = None


def estimate(position: int, answers: Sequence[Answer], agents: int, rules: WaitRules, now: float) -> WaitEstimate:
    """The estimate for the caller at ``position`` of a queue whose answered calls are
    ``answers`` (any order, any age) with ``agents`` available now."""
    recent = sorted((a for a in answers if now - rules.window <= a.at <= now and a.talk_seconds > 0),
                    key=lambda a: a.at)[-rules.most_answers:] if rules.most_answers > 0 else []
    if len(recent) < max(1, rules.min_answers) or agents < 1 or position < 1:
        return WaitEstimate(position, answers=len(recent), agents=agents)
    mean_talk = sum(a.talk_seconds for a in recent) / len(recent)
    seconds = position * mean_talk / agents
    minutes = max(1, math.ceil(seconds / 60))
    if minutes > rules.longest_minutes:
        return WaitEstimate(position, rules.longest_minutes, True, len(recent), agents, mean_talk)
    return WaitEstimate(position, minutes, False, len(recent), agents, mean_talk)


@dataclass
class Waiting:
    """A caller in a queue: their channel and call, and when they are next told."""

    queue: str
    uniqueid: str
    linkedid: str
    channel: str
    joined_at: float
    due_at: float
    told: int = 0
    #: False for a callback's placeholder: it holds a caller's place (counted ahead of the
    #: others) but nobody listens on it
    listening: bool = True


@dataclass
class QueueLines:
    """The callers of each queue in Asterisk's order (a caller joins at the position Asterisk
    reports, priorities included; those behind move up as one leaves)."""

    first_after: float = 2.0
    every: float = 60.0
    _lines: dict[str, list[Waiting]] = field(default_factory=dict)

    def joined(self, queue: str, uniqueid: str, linkedid: str, channel: str, position: int | None,
               at: float, *, listening: bool = True) -> Waiting:
        line = self._lines.setdefault(queue, [])
        known = next((w for w in line if w.uniqueid == uniqueid), None)
        self.left(queue, uniqueid)
        waiting = Waiting(queue, uniqueid, linkedid, channel, at, at + self.first_after, listening=listening)
        if known is not None:
            # listed again (a resynchronisation after a reconnection): told on the same schedule
            waiting.joined_at, waiting.due_at, waiting.told = known.joined_at, known.due_at, known.told
        index = len(line) if position is None else min(max(position - 1, 0), len(line))
        line.insert(index, waiting)
        return waiting

    def left(self, queue: str, uniqueid: str) -> None:
        line = self._lines.get(queue)
        if line:
            line[:] = [w for w in line if w.uniqueid != uniqueid]

    def hung_up(self, uniqueid: str) -> None:
        for queue in list(self._lines):
            self.left(queue, uniqueid)

    def position(self, waiting: Waiting) -> int | None:
        line = self._lines.get(waiting.queue) or []
        for index, other in enumerate(line, 1):
            if other is waiting:
                return index
        return None

    def waiting(self, queue: str) -> list[Waiting]:
        return list(self._lines.get(queue) or [])

    def due(self, now: float) -> list[tuple[Waiting, int]]:
        """The callers to tell now, with their position; each is next due ``every`` seconds on."""
        found = []
        for line in self._lines.values():
            for index, waiting in enumerate(line, 1):
                if waiting.listening and waiting.due_at <= now:
                    waiting.due_at = now + self.every
                    waiting.told += 1
                    found.append((waiting, index))
        return found

    def next_due(self) -> float | None:
        times = [w.due_at for line in self._lines.values() for w in line if w.listening]
        return min(times) if times else None
