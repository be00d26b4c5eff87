"""Fan-out of live call updates to websocket clients.

Each client has a bounded queue drained by its own writer task, so one slow
browser never delays the others: when its queue overflows it is dropped
(closed with "try again later") and may reconnect for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from ctiserver.web.protocols import CallUpdate, LiveCall

log = logging.getLogger(__name__)

#: messages a client may lag behind before it is dropped
DEFAULT_QUEUE_SIZE = 256
#: how long closing a dropped (slow) client may take before its transport is cut
DROP_CLOSE_TIMEOUT = 5.0


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class LiveClient:
    def __init__(self, ws: web.WebSocketResponse, queue_size: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)

    async def write_forever(self) -> None:
        while True:
            text = await self.queue.get()
            await self.ws.send_str(text)


class LiveHub:
    def __init__(self, clock: Callable[[], float], queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._clock = clock
        self._queue_size = queue_size
        self._clients: set[LiveClient] = set()
        self._closing: set[asyncio.Task[None]] = set()

    def attach(
        self, ws: web.WebSocketResponse, greeting: dict[str, Any], active: list[LiveCall]
    ) -> LiveClient:
        """Queue the greeting and a snapshot, then updates; no update can fall in between."""
        client = LiveClient(ws, self._queue_size)
        client.queue.put_nowait(encode(greeting))
        snapshot = [call.to_dict(self._clock()) for call in active]
        client.queue.put_nowait(encode({"type": "calls", "calls": snapshot}))
        self._clients.add(client)
        return client

    def detach(self, client: LiveClient) -> None:
        self._clients.discard(client)

    def publish(self, update: CallUpdate) -> None:
        """The call tracker's listener: runs synchronously inside the tracker, so never blocks."""
        try:
            text = encode(
                {"type": "call", "event": update.kind, "call": update.call.to_dict(self._clock())}
            )
        except Exception:
            log.exception("cannot encode call update %r", update)
            return
        for client in list(self._clients):
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
