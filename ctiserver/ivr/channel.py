"""What the flow engine needs from a phone call, and a scripted call for tests and dry runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class CallerHungUp(Exception):
    """The caller is gone: the flow stops where it is."""


class CallChannel(Protocol):
    async def play(self, sound: str) -> None:
        """Play a sound to the end (not interruptible)."""

    async def play_and_read(
        self, sound: str | None, *, timeout: float, max_digits: int, terminator: str
    ) -> str:
        """Play ``sound`` (a key press interrupts it) and collect up to ``max_digits`` keys.

        Collection stops at ``terminator`` (not included; ``""`` means none) or after
        ``timeout`` seconds without a key. Returns the keys, ``""`` if none.
        """

    async def record(self, path_without_ext: str, max_seconds: int) -> bool:
        """Beep and record a WAV message; True if something was recorded."""

    async def set_variable(self, name: str, value: str) -> None: ...

    async def hangup(self) -> None: ...


class ScriptedChannel:
    """A call whose caller presses keys from a script.

    Each entry of ``presses`` answers one request for input: a string of keys, or
    ``""`` for "pressed nothing" (a timeout). Asking for input once the script is
    used up means the caller has hung up: CallerHungUp. ``transcript`` lists what
    the call heard and did, one line per action.
    """

    def __init__(self, presses: Iterable[str] = (), *, record_ok: bool = True) -> None:
        self.presses = list(presses)
        self.record_ok = record_ok
        self.transcript: list[str] = []
        self.variables: dict[str, str] = {}
        self.hung_up = False
        self._next = 0

    @property
    def remaining(self) -> list[str]:
        return self.presses[self._next:]

    async def play(self, sound: str) -> None:
        self._alive()
        self.transcript.append(f"play {sound}")

    async def play_and_read(
        self, sound: str | None, *, timeout: float, max_digits: int, terminator: str
    ) -> str:
        self._alive()
        if self._next >= len(self.presses):
            self.hung_up = True
            self.transcript.append(f"read {sound} -> caller hung up")
            raise CallerHungUp("the caller hung up (end of the scripted key presses)")
        keys = self.presses[self._next]
        self._next += 1
        if terminator and terminator in keys:
            keys = keys[: keys.index(terminator)]
        keys = keys[:max_digits]
        self.transcript.append(f"read {sound} -> {keys!r}")
        return keys

    async def record(self, path_without_ext: str, max_seconds: int) -> bool:
        self._alive()
        self.transcript.append(f"record {path_without_ext} max {max_seconds}s")
        return self.record_ok

    async def set_variable(self, name: str, value: str) -> None:
        self._alive()
        self.variables[name] = value
        self.transcript.append(f"set {name}={value}")

    async def hangup(self) -> None:
        if not self.hung_up:
            self.transcript.append("hangup")
        self.hung_up = True

    def _alive(self) -> None:
        if self.hung_up:
            raise CallerHungUp("the call is over")
