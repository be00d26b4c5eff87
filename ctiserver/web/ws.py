"""``GET /ws``: the live call feed for the agent desktop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from ctiserver.web.keys import CALLS_KEY, HUB_KEY, USER_KEY, WEBSOCKETS_KEY
from ctiserver.web.responses import json_error

log = logging.getLogger(__name__)

HEARTBEAT = 30.0


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on websocket handshakes; another site must not ride our cookie."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


async def websocket(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        return json_error(403, "cross-origin websocket refused")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT)
    await ws.prepare(request)
    app = request.app
    app[WEBSOCKETS_KEY].add(ws)
    hub = app[HUB_KEY]
    greeting = {"type": "hello", "user": request[USER_KEY].to_dict()}
    client = hub.attach(ws, greeting, list(app[CALLS_KEY].active_calls()))
    reader = asyncio.create_task(_read_until_closed(ws))
    writer = asyncio.create_task(client.write_forever())
    try:
        # the reader ends when the browser or on_shutdown closes; the writer when sending fails
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.detach(client)
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
        app[WEBSOCKETS_KEY].discard(ws)
        if not ws.closed:
            await ws.close()
    return ws


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """The feed is one-way: incoming messages are read (to see the close) and ignored."""
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            log.debug("websocket error: %s", ws.exception())


async def close_websockets(app: web.Application) -> None:
    """on_shutdown: tell every browser we are going away, so handlers can finish."""
    sockets = list(app[WEBSOCKETS_KEY])
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
        return_exceptions=True,
    )


async def live_feed(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one tracker subscription for the whole app, fanned out by the hub."""
    unsubscribe = app[CALLS_KEY].subscribe(app[HUB_KEY].publish)
    yield
    unsubscribe()
