"""The FastAGI server: Asterisk's ``AGI(agi://host:port/script,args)`` lands here.

Written on ``asyncio.start_server`` instead of panoramisk 1.4's ``Application``,
whose header loop spins forever without yielding on a peer that closes before
its blank line, has no timeout or size limit, and wraps plain functions with
``asyncio.coroutine`` (gone in Python 3.11). Here every connection is its own
task with a deadline and a byte budget for its headers; a bad peer is logged
once and dropped, and nothing one route does can stop the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable

from ctiserver.logs import CALL_ID
from ctiserver.settings import AgiSettings
from ctiserver.telephony.agi.session import (
    AgiError,
    AgiHangup,
    AgiResult,
    AgiSession,
    CommandObserver,
)

__all__ = ["AgiError", "AgiHangup", "AgiResult", "AgiServer", "AgiSession", "Route"]

log = logging.getLogger(__name__)

Route = Callable[[AgiSession], Awaitable[None]]

#: Asterisk opens one connection per call; a burst of calls must not meet a full accept queue
BACKLOG = 1024
#: the stream's line limit; also bounds AGI reply lines such as long GET VARIABLE values
_MIN_LINE_LIMIT = 64 * 1024
#: ``agi_accountcode:`` arrives with an empty value, so the space after the colon is optional
_HEADER = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: (?P<value>.*))?")


class BadHeaders(Exception):
    """The peer did not send a well-formed AGI environment."""


async def read_headers(reader: asyncio.StreamReader, max_bytes: int) -> dict[str, str]:
    """The AGI environment: ``key: value`` lines up to an empty line, keys as sent.

    Lines are decoded one at a time once complete, so a multi-byte character
    split across TCP segments arrives intact; bytes that are not UTF-8 become
    U+FFFD.
    """
    headers: dict[str, str] = {}
    total = 0
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise BadHeaders(
                f"closed after {total + len(exc.partial)} bytes, before the end of the AGI environment"
            ) from exc
        except asyncio.LimitOverrunError as exc:
            raise BadHeaders("a header line longer than the stream limit") from exc
        total += len(raw)
        if total > max_bytes:
            raise BadHeaders(f"AGI environment over {max_bytes} bytes")
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            return headers
        match = _HEADER.fullmatch(line)
        if match is None:
            raise BadHeaders(f"not an AGI header line: {line[:80]!r}")
        headers[match["key"]] = match["value"] or ""


class AgiServer:
    """Routes FastAGI connections by ``agi_network_script`` to async handlers."""

    def __init__(self, settings: AgiSettings, *, observer: CommandObserver | None = None, mark: str = "") -> None:
        self._settings = settings
        #: sees every command's round trip (benchmarks); None in normal operation
        self.observer = observer
        #: with several nodes, this node's name, set as CTI_AGI_NODE on each call it takes
        #: before its handler runs: the dialplan then tries no other node for that request
        #: ([cti-agi]), even if this one dies on it
        self.mark = mark
        self._routes: dict[str, Route] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def route(self, script: str, handler: Route) -> None:
        """Serve ``agi://host:port/<script>`` with ``handler``; it must be an async function."""
        if not _is_async(handler):
            raise TypeError(f"AGI route {script!r}: {handler!r} is not an async function")
        script = script.strip("/")
        if script in self._routes:
            raise ValueError(f"AGI route {script!r} is already taken")
        self._routes[script] = handler

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("AGI server already started")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._on_connection,
            self._settings.host,
            self._settings.port,
            limit=max(self._settings.max_header_bytes, _MIN_LINE_LIMIT),
            backlog=BACKLOG,
        )
        log.info("FastAGI listening on %s:%d", self._settings.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, cancel the running sessions and wait for them."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        log.info("FastAGI stopped (%d session(s) cancelled)", len(tasks))

    @property
    def port(self) -> int:
        """The bound port; with several sockets (a name resolving to IPv4 and IPv6) the first."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("AGI server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        """Connections being handled, from accept (headers included) to close."""
        return len(self._tasks)

    def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run the connection in a task of our own.

        A cancelled task handed back to ``start_server`` makes Python 3.11 log
        an error (its done-callback calls ``task.exception()``), and stop()
        cancels sessions by design.
        """
        if self._stopping:
            writer.close()
            return
        task = asyncio.create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        try:
            await self._serve(reader, writer, peer)
        except Exception:
            log.exception("FastAGI connection from %s failed", peer)
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        timeout = self._settings.header_timeout
        try:
            async with asyncio.timeout(timeout):
                headers = await read_headers(reader, self._settings.max_header_bytes)
        except TimeoutError:
            log.warning("FastAGI peer %s sent no complete AGI environment within %s s; dropped", peer, timeout)
            return
        except BadHeaders as exc:
            log.warning("FastAGI peer %s: %s; dropped", peer, exc)
            return
        except (ConnectionError, OSError) as exc:
            log.warning("FastAGI peer %s: connection failed during headers (%s); dropped", peer, exc)
            return
        session = AgiSession(headers, reader, writer, self.observer)
        handler = self._routes.get(session.script)
        if handler is None:
            log.warning("FastAGI peer %s asked for unknown script %r; closed", peer, session.script)
            return
        log.debug("FastAGI %r for %s from %s", session.script, session.channel, peer)
        CALL_ID.set(session.headers.get("agi_uniqueid") or None)  # this session's task only
        try:
            if self.mark:
                await session.set_variable("CTI_AGI_NODE", self.mark)
            await handler(session)
        except AgiHangup as exc:
            log.info("FastAGI %r: %s hung up (%s)", session.script, session.channel, exc)
        except Exception:
            log.exception("FastAGI route %r failed for %s (peer %s)", session.script, session.channel, peer)


def _is_async(handler: object) -> bool:
    # a callable object's __call__, as well as a function
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004
    )


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
