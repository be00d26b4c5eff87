"""What the callbacks store hands out: frozen views of its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ctiserver.callbacks.tables import Callback, CallbackAttempt


def _iso(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat()


@dataclass(frozen=True)
class CallbackInfo:
    id: int
    number: str
    customer_id: int | None
    call_linkedid: str | None
    queue: str | None
    source: str
    reason: str
    status: str
    missed_at: dt.datetime
    last_missed_at: dt.datetime | None
    misses: int
    wait_seconds: float | None
    choices: tuple[str, ...]
    vip: bool
    due_at: dt.datetime
    expires_at: dt.datetime | None
    attempts: int
    last_attempt_at: dt.datetime | None
    outcome: str | None
    agent: str | None
    finished_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "number": self.number, "customer_id": self.customer_id,
            "call_id": self.call_linkedid, "queue": self.queue, "source": self.source,
            "reason": self.reason, "status": self.status, "missed_at": _iso(self.missed_at),
            "last_missed_at": _iso(self.last_missed_at), "misses": self.misses,
            "wait_seconds": self.wait_seconds, "choices": list(self.choices), "vip": self.vip,
            "due_at": _iso(self.due_at), "expires_at": _iso(self.expires_at),
            "attempts": self.attempts, "last_attempt_at": _iso(self.last_attempt_at),
            "outcome": self.outcome, "agent": self.agent, "finished_at": _iso(self.finished_at),
        }


def callback_info(row: Callback) -> CallbackInfo:
    return CallbackInfo(
        row.id, row.number, row.customer_id, row.call_linkedid, row.queue, row.source, row.reason,
        row.status, row.missed_at, row.last_missed_at, row.misses, row.wait_seconds,
        tuple(row.choices or ()), bool(row.vip), row.due_at, row.expires_at, row.attempts,
        row.last_attempt_at, row.outcome, row.agent, row.finished_at,
    )


@dataclass(frozen=True)
class AttemptInfo:
    id: int
    callback_id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    agent: str | None
    channel_id: str
    server: str | None
    outcome: str | None


def attempt_info(row: CallbackAttempt) -> AttemptInfo:
    return AttemptInfo(
        row.id, row.callback_id, row.started_at, row.ended_at, row.agent, row.channel_id,
        row.server, row.outcome,
    )


@dataclass(frozen=True)
class Claim:
    """A task claimed for one attempt: it is ``dialing`` in the database."""

    task: CallbackInfo
    attempt: AttemptInfo
