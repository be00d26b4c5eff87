"""A fair wait's wiring: the queue events from the AMI stream, the queue's answered calls from
the statistics log, the agents available from the agent board, the caller's language from
the IVR, the sentences synthesised by the IVR's prompt library, whispered over AMI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ctiserver.agents.model import AgentBoard
from ctiserver.core import Core
from ctiserver.stats.model import CallCompleted, StatsLog
from ctiserver.telephony.ami.originate import originate_refusal
from ctiserver.waits.model import Answer, QueueLines, WaitRules
from ctiserver.waits.service import FairWait, Sounds


def agents_available(board: AgentBoard, queue: str) -> int:
    """How many agents of ``queue`` are logged in to it and not paused there."""
    return sum(1 for agent in board.all() if queue in agent.queues and queue not in agent.paused_in)


def answers_of(stats: StatsLog, queue: str, since: float) -> Sequence[Answer]:
    """The queue's answered calls that ended since ``since``, with their talk time."""
    return [
        Answer(record.queue, record.at, float(record.talk_seconds))
        for record in stats.records(since)
        if isinstance(record, CallCompleted) and record.queue == queue
    ]


def register(
    core: Core, board: AgentBoard, stats: StatsLog, sounds: Sounds, language_of: Callable[[str], str],
) -> FairWait | None:
    """None when ``waits.announce`` is off (Asterisk announces positions itself)."""
    settings = core.settings.waits
    if not settings.announce:
        return None
    rules = WaitRules(settings.window, settings.most_answers, settings.min_answers, settings.longest_minutes)

    async def originate(action: dict[str, Any]) -> str | None:
        return await originate_refusal(core.ami, action)

    wait = FairWait(
        rules=rules,
        lines=QueueLines(settings.first_after, settings.every),
        answers=lambda queue, since: answers_of(stats, queue, since),
        agents=lambda queue: agents_available(board, queue),
        language_of=language_of,
        sounds=sounds,
        originate=originate,
        clock=core.clock,
    )
    core.follow(wait.handle)
    # one node tells the callers (several servers on one Asterisk: docs/deploy.md section 9)
    core.long_running("fair-wait", wait.run, once=True)
    core.on_stop(wait.stop)
    return wait
