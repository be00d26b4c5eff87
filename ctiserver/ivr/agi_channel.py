"""CallChannel over a FastAGI session: STREAM FILE, GET DATA, WAIT FOR DIGIT, RECORD FILE.

GET DATA always ends on ``#``, so it only serves multi-digit input terminated by
``#``. Single keys (menus, surveys, where ``#`` may be an option) and other
terminators are read with STREAM FILE (escape digits interrupt the prompt)
followed by WAIT FOR DIGIT.

Asterisk's failures that are not hangups (a sound file that does not exist:
``STREAM FILE`` answers ``result=-1``) are logged and the call goes on; a real
hangup shows up as AgiHangup on the next command and becomes CallerHungUp.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable
from typing import TypeVar

from ctiserver.ivr.channel import CallerHungUp
from ctiserver.telephony.agi.session import AgiHangup, AgiResult, AgiSession, quote

log = logging.getLogger(__name__)

KEYS = "0123456789*#"
#: played while waiting for keys when a prompt could not be made (core sounds ship it)
SILENCE = "silence/1"
_ENDPOS = re.compile(r"endpos=(-?\d+)")

T = TypeVar("T")


class AgiCallChannel:
    def __init__(self, session: AgiSession) -> None:
        self.session = session

    async def play(self, sound: str) -> None:
        result = await self._do(self.session.stream_file(sound, ""))
        if result.result == "-1":
            log.warning("%s: could not play %s", self.session.channel, sound)

    async def play_and_read(
        self, sound: str | None, *, timeout: float, max_digits: int, terminator: str
    ) -> str:
        max_digits = max(1, max_digits)
        timeout_ms = max(1, int(timeout * 1000))
        if max_digits > 1 and terminator == "#":
            digits = await self._do(self.session.get_data(sound or SILENCE, timeout_ms, max_digits))
            return digits or ""
        keys = ""
        if sound is not None:
            result = await self._do(self.session.stream_file(sound, KEYS))
            keys = _key(result)
        if not keys:
            keys = await self._wait_for_digit(timeout_ms)
        while keys and keys[-1] != terminator and len(keys) < max_digits:
            key = await self._wait_for_digit(timeout_ms)
            if not key:
                break
            keys += key
        if terminator and keys.endswith(terminator):
            keys = keys[: -len(terminator)]
        return keys

    async def record(self, path_without_ext: str, max_seconds: int) -> bool:
        """RECORD FILE with a beep, ``#`` to stop.

        Ended by the time limit, ``#`` or the caller hanging up, it counts as
        recorded if anything was written (``endpos`` > 0): a caller who hangs up
        while speaking has still left a message.
        """
        line = f"RECORD FILE {quote(path_without_ext)} wav {quote('#')} {int(max_seconds) * 1000} BEEP"
        result = await self._do(self.session.command(line))
        endpos = _ENDPOS.search(result.line)
        if result.data in ("timeout", "dtmf", "hangup"):
            return endpos is not None and int(endpos.group(1)) > 0
        log.warning("%s: recording %s failed: %s", self.session.channel, path_without_ext, result.line)
        return False

    async def set_variable(self, name: str, value: str) -> None:
        await self._do(self.session.set_variable(name, value))

    async def hangup(self) -> None:
        with contextlib.suppress(AgiHangup):
            await self.session.command("HANGUP")

    async def _wait_for_digit(self, timeout_ms: int) -> str:
        result = await self._do(self.session.command(f"WAIT FOR DIGIT {timeout_ms}"))
        if result.result == "-1":
            raise CallerHungUp("WAIT FOR DIGIT failed: channel gone")
        return _key(result)

    async def _do(self, command: Awaitable[T]) -> T:
        """Await an AGI command; the channel hanging up becomes CallerHungUp."""
        try:
            return await command
        except AgiHangup as exc:
            raise CallerHungUp(str(exc)) from exc


def _key(result: AgiResult) -> str:
    """The key whose ASCII code a STREAM FILE / WAIT FOR DIGIT result holds, ``""`` for none."""
    try:
        code = int(result.result)
    except ValueError:
        return ""
    return chr(code) if code > 0 and chr(code) in KEYS else ""
