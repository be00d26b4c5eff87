"""``GET /ws``: the live feed of the agent desktop and the supervisor view.

``?watch=tickets`` asks for the ticket changes the user may see (the department work
view). Every socket starts with a hello (the user and their agent); supervisors and
admins then get the calls snapshot; then whatever the user channel says a
(re)connecting user must see first, e.g. the pop of a call still ringing.

A socket lives no longer than the session it was opened in: when that session ends (logout
in another tab, a new password or role, the account disabled, ``ctiserver user sessions
--revoke``) the socket is closed with :data:`SESSION_ENDED`, at once when it ended in this
process, else within ``web.session_check`` seconds (another server, the command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp_session import get_session

from ctiserver.web.hub import WATCH_TOPICS
from ctiserver.web.keys import (
    AGENT_LOOKUP_KEY,
    CALLS_KEY,
    HUB_KEY,
    OPEN_SOCKETS_KEY,
    ORIGIN_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    SOCKET_SESSIONS_KEY,
    USER_CHANNEL_KEY,
    USER_KEY,
    WEBSOCKETS_KEY,
)
from ctiserver.web.responses import json_error

log = logging.getLogger(__name__)

HEARTBEAT = 30.0
#: the close code of a socket whose session ended (as HTTP's 401: log in again)
SESSION_ENDED = 4401


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on websocket handshakes; another site must not ride our cookie."""
    return "Origin" not in request.headers or request.app[ORIGIN_KEY].allowed(request)


async def websocket(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        return json_error(403, "cross-origin websocket refused")
    app = request.app
    settings = app[SETTINGS_KEY].web
    user = request[USER_KEY]
    # counted before the handshake, with no await between the check and the count
    held = app[OPEN_SOCKETS_KEY]
    if held.get(user.id, 0) >= settings.websockets_per_user:
        return json_error(429, f"too many open websockets (at most {settings.websockets_per_user} a user)")
    held[user.id] = held.get(user.id, 0) + 1
    try:
        return await _serve(request, settings.websocket_max_message)
    finally:
        held[user.id] -= 1
        if held[user.id] <= 0:
            del held[user.id]


async def _serve(request: web.Request, max_message: int) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=max_message)
    app = request.app
    token = (await get_session(request)).identity
    if token is not None:
        app[SOCKET_SESSIONS_KEY][ws] = token
    try:
        await ws.prepare(request)
    except BaseException:
        app[SOCKET_SESSIONS_KEY].pop(ws, None)
        raise
    app[WEBSOCKETS_KEY].add(ws)
    hub = app[HUB_KEY]
    user = request[USER_KEY]
    client = hub.attach(
        ws,
        user_id=user.id,
        role=user.role,
        active=list(app[CALLS_KEY].active_calls()),
        greeting=_greeting(app, user.id),
        watching=watched(request.query.get("watch", "")),
    )
    tasks: set[asyncio.Task[None]] = set()
    try:
        # attached first: whatever happens during the lookup is queued behind the greeting
        hello = {"type": "hello", "user": user.to_dict(), "agent": await _agent(app, user.id)}
        tasks = {
            asyncio.create_task(_read_until_closed(ws)),
            asyncio.create_task(client.write_forever(hello)),
        }
        # the reader ends when the browser or on_shutdown closes; the writer when sending fails
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.detach(client)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        app[WEBSOCKETS_KEY].discard(ws)
        app[SOCKET_SESSIONS_KEY].pop(ws, None)
        if not ws.closed:
            await ws.close()
    return ws


def watched(text: str) -> frozenset[str]:
    """The known topics of ``?watch=a,b`` (unknown ones are ignored)."""
    return frozenset(part.strip() for part in text[:200].split(",")) & WATCH_TOPICS


def _greeting(app: web.Application, user_id: int) -> list[dict[str, Any]]:
    """What the user channel says this user must get first; nothing if it fails."""
    channel = app.get(USER_CHANNEL_KEY)
    if channel is None:
        return []
    try:
        return list(channel.greeting_for(user_id))
    except Exception:
        log.exception("cannot get the greeting of user %s", user_id)
        return []


async def _agent(app: web.Application, user_id: int) -> dict[str, Any] | None:
    """The user's AGENT for the hello; None without a desk, without an agent, or on failure."""
    desk = app.get(AGENT_LOOKUP_KEY)
    if desk is None:
        return None
    try:
        return await desk.agent(user_id)
    except Exception:
        # a greeting without the agent beats no websocket: its next change is pushed anyway
        log.exception("cannot look up the agent of user %s", user_id)
        return None


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """The feed is one-way: incoming messages are read (to see the close) and ignored."""
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            log.debug("websocket error: %s", ws.exception())


async def close_websockets(app: web.Application) -> None:
    """on_shutdown: tell every browser we are going away, so handlers can finish."""
    open_sockets = app[WEBSOCKETS_KEY]
    sockets = list(open_sockets)
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
        return_exceptions=True,
    )


async def live_feed(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: one tracker subscription for the whole app, fanned out by the hub."""
    unsubscribe = app[CALLS_KEY].subscribe(app[HUB_KEY].publish)
    yield
    unsubscribe()


async def close_ended_sessions(app: web.Application) -> int:
    """Close the sockets whose session has ended (:data:`SESSION_ENDED`); how many."""
    held = app[SOCKET_SESSIONS_KEY]
    if not held:
        return 0
    still = await app[SESSIONS_KEY].still_open(set(held.values()))
    ended = [ws for ws, token in list(held.items()) if token not in still]
    for ws in ended:
        held.pop(ws, None)
    await asyncio.gather(
        *(ws.close(code=SESSION_ENDED, message=b"session ended") for ws in ended), return_exceptions=True,
    )
    if ended:
        log.info("%d websocket(s) closed: their session ended", len(ended))
    return len(ended)


async def session_watch(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: close the sockets of ended sessions, woken by this process's session ends
    and every ``web.session_check`` seconds for the others'."""
    wake = asyncio.Event()
    unsubscribe = app[SESSIONS_KEY].on_ended(wake.set)
    task = asyncio.create_task(_watch(app, wake))
    yield
    unsubscribe()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _watch(app: web.Application, wake: asyncio.Event) -> None:
    every = app[SETTINGS_KEY].web.session_check
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), every)
        wake.clear()
        try:
            await close_ended_sessions(app)
        except Exception:
            log.exception("cannot check the sessions of the open websockets")
