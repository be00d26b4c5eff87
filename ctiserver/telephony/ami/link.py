"""The AMI link: one TCP session to Asterisk's manager interface, kept alive.

Written on asyncio streams rather than on ``panoramisk.Manager``, which after a
reconnect re-sends the actions still awaiting an answer (a second Originate is
a second phone call), never times its Ping out (a silent link stays "up"), and
hands coroutine callbacks to ``ensure_future`` (no order between events).

Here one reader task per connection matches answers to actions by ActionID and
queues events; one dispatcher task, alive as long as the link is started,
delivers events, "ready" and "lost" in order. Handlers may await
``send_action``: the reader keeps reading meanwhile.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

from panoramisk.message import Message

from ctiserver.settings import AmiSettings
from ctiserver.telephony.ami.actions import (
    AmiActionFailed,
    AmiError,
    AmiLinkLost,
    AmiNotConnected,
    AmiTimeout,
    PendingAction,
    check_fields,
)
from ctiserver.telephony.ami.framing import FrameSplitter

__all__ = [
    "AmiActionFailed",
    "AmiError",
    "AmiLink",
    "AmiLinkLost",
    "AmiNotConnected",
    "AmiTimeout",
]

log = logging.getLogger(__name__)

EventHandler = Callable[[Message], Awaitable[None] | None]
StateHandler = Callable[[], Awaitable[None] | None]
_Item = tuple[Literal["event", "ready", "lost"], Message | None]

_READ_SIZE = 64 * 1024
_SHORT = 120


class _LoginRefused(AmiError):
    """Asterisk answered the Login with an error (wrong user or secret, ACL)."""


class _Connection:
    """State of one TCP session; a new one is made for every reconnect."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.pending: dict[str, PendingAction] = {}
        self.greeting = ""
        self.greeted = asyncio.Event()
        self.closed = asyncio.Event()
        self.login_id: str | None = None
        self.logged_in = False
        self.booted = False
        self.ready = False
        self.dead = False
        self.reason = ""


class AmiLink:
    """Logged-in AMI session that reconnects forever and never re-sends an action."""

    def __init__(self, settings: AmiSettings) -> None:
        self._settings = settings
        self._where = f"{settings.host}:{settings.port}"
        self._event_handlers: list[EventHandler] = []
        self._ready_handlers: list[StateHandler] = []
        self._lost_handlers: list[StateHandler] = []
        self._conn: _Connection | None = None
        self._ready = asyncio.Event()
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopping = False

    def on_event(self, handler: EventHandler) -> None:
        self._event_handlers.append(handler)

    def on_ready(self, handler: StateHandler) -> None:
        self._ready_handlers.append(handler)

    def on_lost(self, handler: StateHandler) -> None:
        self._lost_handlers.append(handler)

    @property
    def connected(self) -> bool:
        """Logged in and Asterisk fully booted; False as soon as the link drops."""
        conn = self._conn
        return conn is not None and conn.ready and not conn.dead

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._stopping = False
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="ami-dispatch")
        self._runner = asyncio.create_task(self._run(), name="ami-link")

    async def stop(self) -> None:
        self._stopping = True
        tasks = [t for t in (self._runner, self._dispatcher) if t is not None]
        self._runner = self._dispatcher = None
        if self._conn is not None:
            self._drop(self._conn, "link stopped")
        current = asyncio.current_task()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not current), return_exceptions=True)

    async def wait_ready(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise AmiTimeout(f"AMI link to {self._where} not ready after {timeout}s") from None

    async def send_action(
        self, fields: Mapping[str, str | Sequence[str]], *, timeout: float | None = None
    ) -> Message:
        result = await self._send(fields, as_list=False, timeout=timeout)
        if not isinstance(result, Message):
            raise TypeError(f"{fields.get('Action')}: a list where one response was expected")
        return result

    async def send_list_action(
        self, fields: Mapping[str, str | Sequence[str]], *, timeout: float | None = None
    ) -> list[Message]:
        """The response, then every list event up to and including the ``...Complete`` one."""
        result = await self._send(fields, as_list=True, timeout=timeout)
        if not isinstance(result, list):
            raise TypeError(f"{fields.get('Action')}: one response where a list was expected")
        return result

    async def _send(
        self, fields: Mapping[str, str | Sequence[str]], *, as_list: bool, timeout: float | None
    ) -> Message | list[Message]:
        check_fields(fields)
        conn = self._conn
        if conn is None or not conn.ready or conn.dead:
            raise AmiNotConnected(f"AMI link to {self._where} is not ready")
        if timeout is None:
            timeout = self._settings.action_timeout
        return await self._request(conn, PendingAction(fields, as_list=as_list), timeout)

    async def _request(
        self, conn: _Connection, pending: PendingAction, timeout: float
    ) -> Message | list[Message]:
        """Write once, wait for the answer; on a drop the action fails, it is not kept."""
        if conn.dead:
            raise AmiNotConnected(f"AMI link to {self._where} is not ready")
        if pending.id in conn.pending:
            raise ValueError(f"ActionID {pending.id!r} is already waiting for an answer")
        conn.pending[pending.id] = pending
        try:
            conn.writer.write(pending.encode())
            log.debug("AMI > %s", pending.redacted())
            await conn.writer.drain()
            return await asyncio.wait_for(asyncio.shield(pending.future), timeout)
        except TimeoutError:
            raise AmiTimeout(f"no answer to {pending.name} from {self._where} within {timeout}s") from None
        except ConnectionError as exc:
            self._drop(conn, f"write failed: {exc}")
            raise AmiLinkLost(f"AMI link to {self._where} lost while sending {pending.name}") from exc

    async def _run(self) -> None:
        """Connect, log in, serve until the link drops; again, with back-off, forever."""
        s = self._settings
        delay = s.reconnect_min
        while not self._stopping:
            try:
                await self._session()
            except _LoginRefused as exc:
                log.error(
                    "AMI login to %s as user %r refused: %s; retrying in %.3gs",
                    self._where, s.username, exc, delay,
                )
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning(
                    "AMI %s unreachable or not answering (%s); retrying in %.3gs",
                    self._where, _describe(exc), delay,
                )
            except Exception:
                log.exception("AMI link to %s failed; retrying in %.3gs", self._where, delay)
            else:
                delay = s.reconnect_min
                log.info("reconnecting to AMI %s in %.3gs", self._where, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, s.reconnect_max)

    async def _session(self) -> None:
        """One connection; returns after it was ready and dropped, raises if it never got ready."""
        s = self._settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), s.connect_timeout
        )
        conn = _Connection(reader, writer)
        self._conn = conn
        tasks = [asyncio.create_task(self._read_loop(conn), name="ami-reader")]
        try:
            await asyncio.wait_for(self._login(conn), s.connect_timeout)
            tasks.append(asyncio.create_task(self._ping_loop(conn), name="ami-ping"))
            await conn.closed.wait()
            if not conn.ready:
                raise AmiLinkLost(f"{conn.reason} before Asterisk was fully booted")
        finally:
            self._drop(conn, "link closed")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _login(self, conn: _Connection) -> None:
        s = self._settings
        await conn.greeted.wait()
        if conn.dead:
            raise AmiLinkLost(f"{conn.reason} before the AMI greeting")
        if not conn.greeting:
            raise AmiError("the peer is not an Asterisk manager interface (no greeting)")
        pending = PendingAction(
            {"Action": "Login", "Username": s.username, "Secret": s.secret, "Events": s.events},
            as_list=False,
        )
        conn.login_id = pending.id
        try:
            await self._request(conn, pending, s.connect_timeout)
        except AmiActionFailed as exc:
            raise _LoginRefused(str(exc)) from None
        if not conn.ready:
            log.info("AMI %s: waiting for Asterisk to be fully booted", self._where)

    async def _ping_loop(self, conn: _Connection) -> None:
        """A Ping unanswered within ping_timeout means the peer is gone, even if TCP says not."""
        s = self._settings
        while not conn.dead:
            await asyncio.sleep(s.ping_interval)
            try:
                await self._request(conn, PendingAction({"Action": "Ping"}, as_list=False), s.ping_timeout)
            except AmiTimeout:
                log.warning(
                    "AMI %s did not answer a Ping within %.3gs: link declared dead",
                    self._where, s.ping_timeout,
                )
                self._drop(conn, "Ping unanswered")
                return
            except AmiActionFailed:
                continue
            except AmiError:
                return

    async def _read_loop(self, conn: _Connection) -> None:
        splitter = FrameSplitter()
        reason = "connection closed by Asterisk"
        try:
            while not conn.dead:
                data = await conn.reader.read(_READ_SIZE)
                if not data:
                    break
                now = time.time()
                messages = splitter.feed(data)
                if splitter.greeting is not None and not conn.greeted.is_set():
                    conn.greeting = splitter.greeting
                    conn.greeted.set()
                for text in splitter.rejected:
                    log.warning("AMI %s sent a malformed frame, ignored: %r", self._where, text[:_SHORT])
                splitter.rejected.clear()
                for message in messages:
                    message.received_at = now
                    self._route(conn, message)
                    if conn.dead:
                        break
        except OSError as exc:
            reason = f"read failed: {_describe(exc)}"
        self._drop(conn, reason)

    def _route(self, conn: _Connection, message: Message) -> None:
        try:
            action_id = message.action_id
            pending = conn.pending.get(action_id) if isinstance(action_id, str) else None
            if pending is not None and pending.feed(message):
                if pending.future.done():
                    del conn.pending[action_id]
                    if action_id == conn.login_id and message.success:
                        self._logged_in(conn)
            elif "event" in message:
                self._on_event(conn, message)
            else:
                log.debug("AMI response nobody waits for: %r", repr(message)[:_SHORT])
        except Exception:
            log.exception("AMI message could not be handled: %r", repr(message)[:_SHORT])

    def _on_event(self, conn: _Connection, message: Message) -> None:
        self._queue.put_nowait(("event", message))
        name = message.event
        if name == "FullyBooted":
            conn.booted = True
            self._maybe_ready(conn)
        elif name == "Shutdown":
            self._drop(conn, f"Asterisk is shutting down ({message.get('Shutdown', '?')})")

    def _logged_in(self, conn: _Connection) -> None:
        """Called by the reader, so that an immediately following FullyBooted finds it done."""
        conn.logged_in = True
        log.info(
            "AMI logged in to %s as %r (Asterisk Call Manager/%s)",
            self._where, self._settings.username, conn.greeting,
        )
        self._maybe_ready(conn)

    def _maybe_ready(self, conn: _Connection) -> None:
        if conn.logged_in and conn.booted and not conn.ready and not conn.dead:
            conn.ready = True
            self._ready.set()
            log.info("AMI link to %s ready", self._where)
            self._queue.put_nowait(("ready", None))

    def _drop(self, conn: _Connection, reason: str) -> None:
        """Close at once and fail what waits; idempotent. Sync, so ``connected`` flips now."""
        if conn.dead:
            return
        conn.dead = True
        conn.reason = reason
        if self._conn is conn:
            self._ready.clear()
        conn.writer.transport.abort()
        error = AmiLinkLost(f"AMI link to {self._where} lost ({reason}) before the answer")
        unanswered = len(conn.pending)
        for pending in conn.pending.values():
            pending.fail(error)
        conn.pending.clear()
        conn.greeted.set()
        conn.closed.set()
        if conn.ready:
            level = logging.INFO if self._stopping else logging.WARNING
            log.log(
                level, "AMI link to %s lost: %s (%d unanswered action(s) failed, not resent)",
                self._where, reason, unanswered,
            )
            self._queue.put_nowait(("lost", None))

    async def _dispatch_loop(self) -> None:
        """The only place handlers run: in order, one at a time."""
        while True:
            kind, message = await self._queue.get()
            if kind == "event":
                handlers: list[Callable[..., Awaitable[None] | None]] = list(self._event_handlers)
                args: tuple[Message, ...] = (message,) if message is not None else ()
            else:
                handlers = list(self._ready_handlers if kind == "ready" else self._lost_handlers)
                args = ()
            for handler in handlers:
                await self._call(handler, kind, args)

    async def _call(
        self, handler: Callable[..., Awaitable[None] | None], kind: str, args: tuple[Message, ...]
    ) -> None:
        try:
            result = handler(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            log.warning("AMI %s handler %r was cancelled", kind, handler)
        except Exception:
            what = f" for {args[0].event}" if args else ""
            log.exception("AMI %s handler %r failed%s", kind, handler, what)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
