"""Stand-ins for the web app's collaborators (the call tracker, the AMI link, a browser that
stopped reading) and the values the web tests share; tests/unit/test_web.py and the API
tests build the app with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher

from ctiserver.calls.model import iso_utc

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = 1_714_523_400.0
XSS = "<img src=x onerror=alert(1)>"


@dataclasses.dataclass
class FakeCall:
    linkedid: str
    caller_number: str
    caller_name: str
    started_at: float = T0
    state: str = "active"

    def to_dict(self, now: float) -> dict[str, Any]:
        """A LIVE_CALL (ctiserver/calls/schemas.py), as the real tracker's calls give it."""
        return {
            "id": self.linkedid,
            "state": self.state,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "started_at": iso_utc(self.started_at),
            "answered_at": None,
            "ended_at": iso_utc(now) if self.state == "ended" else None,
            "duration": now - self.started_at,
            "queue": None,
            "agent": None,
            "wait_seconds": None,
            "hangup_cause": None,
            "hangup_cause_text": None,
            "legs": [],
        }


@dataclasses.dataclass(frozen=True)
class FakeUpdate:
    kind: str
    call: FakeCall


class FakeTracker:
    def __init__(self) -> None:
        self.calls: dict[str, FakeCall] = {}
        self.listeners: list[Callable[[FakeUpdate], None]] = []

    def active_calls(self) -> list[FakeCall]:
        return [c for c in self.calls.values() if c.state == "active"]

    def subscribe(self, listener: Callable[[FakeUpdate], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, kind: str, call: FakeCall) -> None:
        self.calls[call.linkedid] = call
        for listener in list(self.listeners):
            listener(FakeUpdate(kind, call))


@dataclasses.dataclass
class FakeAmi:
    connected: bool = True


@dataclasses.dataclass
class EndedCall:
    linkedid: str
    caller_number: str | None
    caller_name: str | None
    started_at: float
    ended_at: float | None
    answered_at: float | None = None
    queue: str | None = "support"
    agent: str | None = None
    wait_seconds: float | None = None
    hangup_cause: int | None = 16
    hangup_cause_text: str | None = "Normal Clearing"


class SlowSocket:
    """Stands in for a WebSocketResponse whose browser stopped reading."""

    def __init__(self) -> None:
        self.closed_with: int | None = None

    async def close(self, *, code: int, message: bytes = b"", drain: bool = True) -> bool:
        self.closed_with = code
        return True
