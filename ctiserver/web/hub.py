"""Fan-out of live messages to websocket clients, by role and by user.

Call updates go to supervisors and admins only; screen pops and agent state to
their own user only (see docs/agent-desktop.md).

A client may also watch topics (``/ws?watch=tickets``): the ticket changes of the
department work view go only to clients watching ``tickets``, and among them only to
those the feature chooses (:meth:`LiveHub.to_watchers`).

Each client has a bounded queue drained by its own writer task, so one slow
browser never delays the others: when its queue overflows it is dropped
(closed with "try again later") and may reconnect for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

from aiohttp import WSCloseCode, web

from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.protocols import LiveCall, LiveCallUpdate

log = logging.getLogger(__name__)

#: what a client may watch besides what its role gets anyway
WATCH_TOPICS = frozenset({"tickets"})
#: messages a client may lag behind before it is dropped
DEFAULT_QUEUE_SIZE = 256
#: how long closing a dropped (slow) client may take before its transport is cut
DROP_CLOSE_TIMEOUT = 5.0


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class LiveClient:
    """One websocket: who is on it, and what is still to be sent to it."""

    def __init__(
        self, ws: web.WebSocketResponse, queue_size: int, user_id: int, role: str,
        watching: frozenset[str] = frozenset(),
    ) -> None:
        self.ws = ws
        self.user_id = user_id
        self.role = role
        self.watching = watching
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)

    @property
    def watches_calls(self) -> bool:
        return self.role in SUPERVISOR_ROLES

    async def write_forever(self, first: dict[str, Any] | None = None) -> None:
        """Send ``first`` (the hello), then the queue, which may have filled meanwhile."""
        if first is not None:
            await self.ws.send_str(encode(first))
        while True:
            text = await self.queue.get()
            await self.ws.send_str(text)


class LiveHub:
    """Routes messages to websocket clients by role (call updates) and by user (pops).

    The contact-center services call :meth:`to_user` and :meth:`to_roles`; they are
    synchronous and never block, like :meth:`publish`.
    """

    def __init__(self, clock: Callable[[], float], queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._clock = clock
        self._queue_size = queue_size
        self._clients: set[LiveClient] = set()
        self._closing: set[asyncio.Task[None]] = set()

    def attach(
        self,
        ws: web.WebSocketResponse,
        *,
        user_id: int,
        role: str,
        active: Sequence[LiveCall] = (),
        greeting: Sequence[dict[str, Any]] = (),
        watching: frozenset[str] = frozenset(),
    ) -> LiveClient:
        """Register a client, its queue holding the call snapshot (supervisors) and ``greeting``.

        Both are queued in the same synchronous step that subscribes the client, so no
        update can fall in between or come before them. The caller sends the hello first
        (:meth:`LiveClient.write_forever`).
        """
        client = LiveClient(ws, self._queue_size, user_id, role, watching & WATCH_TOPICS)
        if client.watches_calls:
            snapshot = [call.to_dict(self._clock()) for call in active]
            client.queue.put_nowait(encode({"type": "calls", "calls": snapshot}))
        for message in greeting:
            client.queue.put_nowait(encode(message))
        self._clients.add(client)
        return client

    def detach(self, client: LiveClient) -> None:
        self._clients.discard(client)

    def publish(self, update: LiveCallUpdate) -> None:
        """The call tracker's listener: runs synchronously inside the tracker, so never blocks."""
        if not any(client.watches_calls for client in self._clients):
            return
        try:
            text = encode(
                {"type": "call", "event": update.kind, "call": update.call.to_dict(self._clock())}
            )
        except Exception:
            log.exception("cannot encode call update %r", update)
            return
        self._send(text, lambda client: client.watches_calls)

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        """To every websocket of that user (several tabs, or a desk and a phone)."""
        self._encode_and_send(message, lambda client: client.user_id == user_id)

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None:
        """To every websocket of a user with one of ``roles``, e.g. the wallboard to supervisors."""
        self._encode_and_send(message, lambda client: client.role in roles)

    def connected(self) -> set[tuple[int, str]]:
        """(user id, role) of every client: for features that choose, record by record, who may
        see a message (``to_user`` then sends it to those)."""
        return {(client.user_id, client.role) for client in self._clients}

    def watchers(self, topic: str) -> set[tuple[int, str]]:
        """(user id, role) of every client watching ``topic``."""
        return {(client.user_id, client.role) for client in self._clients if topic in client.watching}

    def to_watchers(
        self, topic: str, message: dict[str, Any], *, users: Collection[int] = (), roles: Collection[str] = ()
    ) -> None:
        """To the clients watching ``topic`` whose user is one of ``users`` or role one of ``roles``."""
        self._encode_and_send(
            message,
            lambda client: topic in client.watching and (client.user_id in users or client.role in roles),
        )

    def _encode_and_send(
        self, message: dict[str, Any], wanted: Callable[[LiveClient], bool]
    ) -> None:
        try:
            text = encode(message)
        except Exception:
            log.exception("cannot encode message %r", message)
            return
        self._send(text, wanted)

    def _send(self, text: str, wanted: Callable[[LiveClient], bool]) -> None:
        for client in list(self._clients):
            if not wanted(client):
                continue
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("dropping websocket client %s: %d messages behind",
                            client.ws, client.queue.qsize())
                self._drop(client)

    def _drop(self, client: LiveClient) -> None:
        self.detach(client)
        task = asyncio.get_running_loop().create_task(_close_slow(client.ws))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _close_slow(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DROP_CLOSE_TIMEOUT):
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow", drain=False)
