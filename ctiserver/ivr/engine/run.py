"""What a run leaves behind: the steps of its path, with the events inside each, and
its outcome. The dry run prints them; the database keeps them (``ivr_runs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Event:
    """One thing that happened inside a step, in order.

    kinds: ``say`` (detail: the text, tag: its language), ``file`` (detail: the
    sound name), ``keys`` (detail: keys pressed, tag: ``ok``/``invalid``/``timeout``),
    ``ticket`` (detail: summary, tag: type), ``callback`` (detail: number),
    ``voicemail`` (detail: host path), ``survey`` (detail: score), ``hours`` (detail:
    the local time checked, tag: ``always open`` when the engine ignores the hours),
    ``lookup`` (detail: number, tag: the customer's name
    or None), ``progress`` (detail: a ticket number read out, tag: its status), ``answer``
    (detail: the ticket number, tag: ``confirmed``/``time_requested``), ``error``.
    """

    kind: str
    detail: str
    tag: str | None = None


@dataclass
class Step:
    node: str
    kind: str
    #: seconds since the run started
    at: float
    digits: str | None = None
    #: e.g. selected/failed (menu), valid (input), open/closed, found/vip/not_found, the queue
    result: str | None = None
    #: the node the flow went on to, None when the step ended the flow
    next: str | None = None
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class FlowOutcome:
    action: Literal["queue", "transfer", "hangup"]
    queue: str | None = None
    priority: int = 0
    timeout: int = 0
    after: str | None = None
    transfer_to: str | None = None
    #: after ``timeout`` seconds unanswered the caller moves to this queue
    overflow_queue: str | None = None


@dataclass
class FlowRun:
    flow_name: str
    flow_version: str
    variables: dict[str, str]
    path: list[Step]
    outcome: FlowOutcome | None
    ended_by_hangup: bool
    started_at: datetime | None = None
    #: why the engine gave up (loop guard, internal error), None when it did not
    error: str | None = None

    @property
    def node_ids(self) -> list[str]:
        return [step.node for step in self.path]
