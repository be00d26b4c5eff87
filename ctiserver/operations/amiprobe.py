"""One short AMI session for ``ctiserver check``: connect, log in, ask, leave.

``AmiLink`` is the server's session: it reconnects forever and logs a refused login
as it retries. A check wants the opposite: one attempt, and the failure as an answer.
The framing and the matching of answers to actions are the link's own
(``FrameSplitter``, ``PendingAction``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from types import TracebackType

from panoramisk.message import Message

from ctiserver.settings import AmiSettings
from ctiserver.telephony.ami.actions import AmiError, AmiLinkLost, AmiTimeout, PendingAction
from ctiserver.telephony.ami.framing import FrameSplitter

Fields = Mapping[str, str | Sequence[str]]


class NotAnAmi(AmiError):
    """The peer answered, but not with the greeting of an Asterisk manager interface."""


class AmiProbe:
    def __init__(self, settings: AmiSettings, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.greeting = ""
        self.events: list[Message] = []
        self._event_arrived = asyncio.Event()
        self._splitter = FrameSplitter()
        self._greeted = asyncio.Event()
        self._pending: dict[str, PendingAction] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AmiProbe:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> str:
        """Open the TCP session and read the greeting (``Asterisk Call Manager/x.y.z``)."""
        s = self.settings
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), self.timeout
        )
        self._reader_task = asyncio.create_task(self._read(reader), name="ami-probe-reader")
        try:
            await asyncio.wait_for(self._greeted.wait(), self.timeout)
        except TimeoutError:
            raise NotAnAmi(f"{s.host}:{s.port} sent no AMI greeting within {self.timeout:g}s") from None
        if not self.greeting:
            raise NotAnAmi(f"{s.host}:{s.port} closed the connection without an AMI greeting")
        return self.greeting

    async def login(self, events: str = "system") -> Message:
        s = self.settings
        return await self.ask(
            {"Action": "Login", "Username": s.username, "Secret": s.secret, "Events": events}
        )

    async def ask(self, fields: Fields) -> Message:
        """The one response to an action."""
        answer = await self._send(fields, as_list=False)
        if not isinstance(answer, Message):
            raise AmiError(f"{fields['Action']} answered with a list")
        return answer

    async def ask_list(self, fields: Fields) -> list[Message]:
        """The response, then every item of the list up to the ``...Complete`` event."""
        answer = await self._send(fields, as_list=True)
        if not isinstance(answer, list):
            raise AmiError(f"{fields['Action']} answered with no list")
        return answer

    async def _send(self, fields: Fields, *, as_list: bool) -> Message | list[Message]:
        """The answer; AmiActionFailed on ``Response: Error``, AmiTimeout, AmiLinkLost."""
        if self._writer is None:
            raise AmiLinkLost("not connected")
        pending = PendingAction(fields, as_list=as_list)
        self._pending[pending.id] = pending
        try:
            self._writer.write(pending.encode())
            await self._writer.drain()
            return await asyncio.wait_for(asyncio.shield(pending.future), self.timeout)
        except TimeoutError:
            raise AmiTimeout(f"no answer to {pending.name} within {self.timeout:g}s") from None
        finally:
            self._pending.pop(pending.id, None)

    async def wait_event(self, name: str, within: float) -> Message | None:
        """The first event called ``name`` received so far or within ``within`` seconds; else None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for event in self.events:
                if event.event == name:
                    return event
            left = deadline - loop.time()
            if left <= 0:
                return None
            self._event_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event_arrived.wait(), left)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
            self._writer = None
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
            self._reader_task = None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(64 * 1024):
                for message in self._splitter.feed(data):
                    self._route(message)
                if self._splitter.greeting is not None and not self._greeted.is_set():
                    self.greeting = self._splitter.greeting
                    self._greeted.set()
        except OSError:
            pass
        self._greeted.set()
        for pending in self._pending.values():
            pending.fail(AmiLinkLost("Asterisk closed the AMI connection"))

    def _route(self, message: Message) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if isinstance(action_id, str) else None
        if pending is not None and pending.feed(message):
            return
        if "event" in message:
            self.events.append(message)
            self._event_arrived.set()
