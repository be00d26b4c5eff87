"""One FastAGI conversation: the channel's AGI environment plus a command/reply loop.

Replies are parsed here rather than with ``panoramisk.utils.parse_agi_result``,
which does not serve this protocol well enough: it drops the ``(timeout)``
of ``200 result= (timeout)`` (its value pattern needs one character), turns
every ``result=-1`` into an error without the result, treats any ``(hangup)``
data as a hangup (so ``GET VARIABLE`` of a variable whose value is ``hangup``
would end the call) and raises ``ValueError`` on a line without a code.

Asterisk reads one command per line into a 2048-byte buffer and splits it into
arguments the way ``parse_args`` in ``res_agi.c`` does: double quotes group,
a backslash makes the next character literal. There is no escape for a
newline, so control characters in arguments become spaces; a longer line is
refused instead of letting Asterisk cut it into two commands.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

#: ``AGI_BUF_LEN`` in res_agi.c is 2048 and the newline must fit in it as well
MAX_COMMAND_BYTES = 2046

_REPLY = re.compile(r"(?P<code>\d{3})(?:(?P<sep>[ -])(?P<rest>.*))?")
_RESULT = re.compile(r"result=(?P<result>\S*)(?:\s+\((?P<data>.*)\))?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAME = re.compile(r"[A-Za-z0-9_()\-.:,]+")
_APPLICATION = re.compile(r"[A-Za-z0-9_]+")


class AgiHangup(Exception):
    """The channel hung up (``HANGUP``, ``511`` dead channel) or the socket closed."""


class AgiError(Exception):
    """Asterisk refused a command (5xx) or the conversation lost its framing."""


@dataclass(frozen=True)
class AgiResult:
    """``200 result=1 (timeout)`` -> code 200, result ``"1"``, data ``"timeout"``."""

    code: int
    result: str
    data: str | None
    line: str


def quote(value: str) -> str:
    """One AGI argument holding ``value`` verbatim, control characters aside."""
    value = _CONTROL.sub(" ", value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_result(line: str) -> AgiResult:
    """A ``200`` reply line; AgiError if it is not one."""
    match = _REPLY.fullmatch(line)
    found = _RESULT.match(match["rest"] or "") if match and match["code"] == "200" else None
    if found is None:
        raise AgiError(f"malformed AGI reply {line!r}")
    return AgiResult(200, found["result"], found["data"], line)


#: told each command's verb words (e.g. ["GET", "VARIABLE"]) and its round trip in seconds
CommandObserver = Callable[[list[str], float], None]


class AgiSession:
    """What a route gets: the AGI environment and the commands to drive the channel.

    Commands are serialised by a lock: AGI has no request ids, so two commands
    in flight at once would take each other's replies. Once the channel is
    known to be gone every further command raises AgiHangup without touching
    the socket; once framing is lost (a command timed out or was cancelled
    before its reply, a garbage reply) the socket is closed and they raise
    AgiError.
    """

    def __init__(
        self,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        observer: CommandObserver | None = None,
    ) -> None:
        self.headers = headers
        self._observer = observer
        self.script = headers.get("agi_network_script", "").split("?", 1)[0].strip("/")
        self.args = _args(headers)
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._dead: Exception | None = None

    @property
    def uniqueid(self) -> str | None:
        return self.headers.get("agi_uniqueid") or None

    @property
    def channel(self) -> str | None:
        return self.headers.get("agi_channel") or None

    @property
    def linkedid(self) -> str | None:
        return self.headers.get("agi_linkedid") or None

    @property
    def caller_number(self) -> str | None:
        return _known(self.headers.get("agi_callerid"))

    @property
    def caller_name(self) -> str | None:
        return _known(self.headers.get("agi_calleridname"))

    async def command(self, line: str, *, timeout: float | None = None) -> AgiResult:
        """Send one AGI command and return its final ``200`` reply.

        A timeout closes the connection (a late reply would be taken as the
        answer to the next command) and raises TimeoutError.
        """
        data = line.encode("utf-8")
        if _CONTROL.search(line) or len(data) > MAX_COMMAND_BYTES:
            raise ValueError(f"not a single AGI command line: {line[:80]!r}")
        async with self._lock:
            if self._dead is not None:
                raise type(self._dead)(*self._dead.args)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    await self._send(data + b"\n")
                    reply = await self._read_reply(line)
                if self._observer is not None:
                    self._observer(line.split(" ", 2)[:2], time.perf_counter() - started)
                return reply
            except TimeoutError:
                self._kill(AgiError(f"no reply to {line!r} within {timeout} s"))
                raise
            except asyncio.CancelledError:
                self._kill(AgiError(f"{line!r} was cancelled before its reply"))
                raise
            except AgiHangup as exc:
                self._dead = exc
                raise

    async def answer(self) -> None:
        """ANSWER; ``-1`` only happens on a channel that is gone, hence AgiHangup."""
        result = await self.command("ANSWER")
        if result.result == "-1":
            raise self._gone("ANSWER failed")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {_checked_name(name)} {quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The value, ``""`` if set but empty, None if unset."""
        result = await self.command(f"GET VARIABLE {_checked_name(name)}")
        if result.result != "1":
            return None
        return result.data or ""

    async def exec(self, application: str, *args: str) -> AgiResult:
        """EXEC; the arguments are joined with commas into the application's one option string."""
        if not _APPLICATION.fullmatch(application):
            raise ValueError(f"not an application name: {application!r}")
        line = f"EXEC {application}"
        if args:
            line += " " + quote(",".join(args))
        return await self.command(line)

    async def stream_file(self, name: str, escape_digits: str = "") -> AgiResult:
        """STREAM FILE; result is the ASCII code of the digit pressed, ``0`` or ``-1``."""
        return await self.command(f"STREAM FILE {quote(name)} {quote(escape_digits)}")

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str | None:
        """GET DATA: the digits entered, None if none.

        ``-1`` is Asterisk's answer when the channel hung up while collecting,
        so it raises AgiHangup.
        """
        result = await self.command(f"GET DATA {quote(prompt)} {int(timeout_ms)} {int(max_digits)}")
        if result.result == "-1":
            raise self._gone("GET DATA failed")
        return result.result or None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {quote(message)} {int(level)}")

    async def _send(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise AgiHangup("socket closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise AgiHangup(f"socket closed: {exc}") from exc

    async def _read_reply(self, command: str) -> AgiResult:
        while True:
            line = await self._read_line()
            if line == "HANGUP":
                raise AgiHangup("channel hung up")
            match = _REPLY.fullmatch(line)
            if match is None:
                raise self._kill(AgiError(f"garbage reply to {command!r}: {line[:200]!r}"))
            code = int(match["code"])
            if code == 100:
                continue
            if code == 200:
                return parse_result(line)
            if code == 511:
                raise AgiHangup(f"{command!r}: {line}")
            if match["sep"] == "-":
                line = await self._read_usage(code, line)
            raise AgiError(f"{command!r}: {line}")

    async def _read_usage(self, code: int, first: str) -> str:
        """The rest of a ``520-`` block, up to the ``520 End of proper usage.`` line."""
        lines = [first]
        end = f"{code} "
        while not lines[-1].startswith(end):
            lines.append(await self._read_line())
        return "\n".join(lines)

    async def _read_line(self) -> str:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise AgiHangup("socket closed by Asterisk") from exc
        except asyncio.LimitOverrunError as exc:
            raise self._kill(AgiError("AGI reply line too long")) from exc
        except (ConnectionError, OSError) as exc:
            raise AgiHangup(f"socket closed: {exc}") from exc
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def _gone(self, why: str) -> AgiHangup:
        self._dead = AgiHangup(f"{why}: channel gone")
        return AgiHangup(*self._dead.args)

    def _kill(self, reason: AgiError) -> AgiError:
        """Framing is lost: close the socket, refuse further commands."""
        self._dead = reason
        self._writer.close()
        return AgiError(*reason.args)


def _args(headers: dict[str, str]) -> list[str]:
    args: list[str] = []
    while (value := headers.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(value)
    return args


def _known(value: str | None) -> str | None:
    return None if value in (None, "", "unknown") else value


def _checked_name(name: str) -> str:
    """Variable names go unquoted; ``CHANNEL(linkedid)`` style function names are fine."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a variable name: {name!r}")
    return name
