"""The logged-in user's own agent: log in to queues, pause, ready, log out, transfer.

Any role may act, but only on the agent whose ``user_id`` is theirs; a user with
no agent gets 404. What the desk refuses (a :class:`DeskError`) is answered with
its status and message.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from ctiserver.agents.protocols import AgentDesk, DeskError
from ctiserver.vocabulary import PAUSE_REASONS, USER_ROLES
from ctiserver.web.handling import ApiError, Handler, api, read_json
from ctiserver.web.keys import AGENT_LOOKUP_KEY, USER_KEY
from ctiserver.web.responses import json_ok

DESK_KEY = web.AppKey("desk", AgentDesk)
NO_AGENT = "no agent for this user"


def _desk(request: web.Request) -> AgentDesk:
    return request.app[DESK_KEY]


def agent_action(handler: Handler) -> Handler:
    """404 unless the user has an agent; a DeskError becomes its JSON error."""

    @api(USER_ROLES)
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            if await _desk(request).agent(request[USER_KEY].id) is None:
                raise ApiError(404, NO_AGENT)
            return await handler(request)
        except DeskError as exc:
            raise ApiError(exc.status, exc.message) from exc

    return guarded


def _answer(agent: dict[str, Any]) -> web.Response:
    return json_ok({"agent": agent})


def _queues(data: dict[str, Any]) -> list[str] | None:
    queues = data.get("queues")
    if queues is None:
        return None
    if (
        not isinstance(queues, list)
        or not queues
        or not all(isinstance(q, str) and q for q in queues)
    ):
        raise ApiError(400, "queues must be a non-empty list of queue names")
    return queues


@api(USER_ROLES)
async def get_agent(request: web.Request) -> web.Response:
    agent = await _desk(request).agent(request[USER_KEY].id)
    if agent is None:
        raise ApiError(404, NO_AGENT)
    return _answer(agent)


@agent_action
async def login(request: web.Request) -> web.Response:
    queues = _queues(await read_json(request, optional=True))
    return _answer(await _desk(request).login(request[USER_KEY].id, queues))


@agent_action
async def logout(request: web.Request) -> web.Response:
    return _answer(await _desk(request).logout(request[USER_KEY].id))


@agent_action
async def pause(request: web.Request) -> web.Response:
    reason = (await read_json(request)).get("reason")
    if reason not in PAUSE_REASONS:
        raise ApiError(400, f"reason must be one of {', '.join(PAUSE_REASONS)}")
    return _answer(await _desk(request).pause(request[USER_KEY].id, reason))


@agent_action
async def ready(request: web.Request) -> web.Response:
    return _answer(await _desk(request).ready(request[USER_KEY].id))


@agent_action
async def transfer(request: web.Request) -> web.Response:
    """``{"extension": "1002"}``: the agent's caller goes to that agent (blind transfer)."""
    extension = (await read_json(request)).get("extension")
    if not isinstance(extension, str) or not extension:
        raise ApiError(400, "extension must be an agent's extension")
    return _answer(await _desk(request).transfer(request[USER_KEY].id, extension))


def register(app: web.Application, desk: AgentDesk) -> None:
    app[DESK_KEY] = desk
    app[AGENT_LOOKUP_KEY] = desk
    app.router.add_get("/api/agent", get_agent)
    app.router.add_post("/api/agent/login", login)
    app.router.add_post("/api/agent/logout", logout)
    app.router.add_post("/api/agent/pause", pause)
    app.router.add_post("/api/agent/ready", ready)
    app.router.add_post("/api/agent/transfer", transfer)
