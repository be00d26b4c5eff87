"""The logged-in user's own agent: log in to queues, pause, ready, log out, transfer.

Any role may act, but only on the agent whose ``user_id`` is theirs; a user with
no agent gets 404. What the desk refuses (a :class:`DeskError`) is answered with
its status and message.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ctiserver.agents.protocols import AgentDesk, DeskError
from ctiserver.agents.schemas import (
    AgentAnswer,
    AgentMessage,
    HelloMessage,
    PauseRequest,
    QueueLogin,
    TransferRequest,
)
from ctiserver.vocabulary import DESK_ROLES, SUPERVISOR_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import add_messages, body_of, route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import AGENT_LOOKUP_KEY, USER_KEY

DESK_KEY = web.AppKey("desk", AgentDesk)
NO_AGENT = "no agent for this user"
Action = Callable[[web.Request], Awaitable[dict[str, Any]]]


def _desk(request: web.Request) -> AgentDesk:
    return request.app[DESK_KEY]


def agent_action(handler: Action) -> Action:
    """404 unless the user has an agent; a DeskError becomes its JSON error."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> dict[str, Any]:
        try:
            agent = await _desk(request).agent(request[USER_KEY].id)
            if agent is None:
                raise ApiError(404, NO_AGENT)
            note_target(request, agent["extension"])  # for the audit log
            return {"agent": await handler(request)}
        except DeskError as exc:
            raise ApiError(exc.status, exc.message) from exc

    return guarded


async def get_agent(request: web.Request) -> dict[str, Any]:
    agent = await _desk(request).agent(request[USER_KEY].id)
    if agent is None:
        raise ApiError(404, NO_AGENT)
    return {"agent": agent}


@agent_action
async def login(request: web.Request) -> dict[str, Any]:
    """Join the queues (default: the agent's skills, else every queue)."""
    queues = body_of(request, QueueLogin).queues
    return await _desk(request).login(request[USER_KEY].id, queues)


@agent_action
async def logout(request: web.Request) -> dict[str, Any]:
    """Leave every queue; refused during a call."""
    return await _desk(request).logout(request[USER_KEY].id)


@agent_action
async def pause(request: web.Request) -> dict[str, Any]:
    reason = body_of(request, PauseRequest).reason
    return await _desk(request).pause(request[USER_KEY].id, reason)


@agent_action
async def ready(request: web.Request) -> dict[str, Any]:
    return await _desk(request).ready(request[USER_KEY].id)


@agent_action
async def transfer(request: web.Request) -> dict[str, Any]:
    """The agent's caller goes to the agent at that extension (Asterisk ``BlindTransfer``
    to ``agent-phones``, which rings that agent as the queues do)."""
    body = body_of(request, TransferRequest)
    return await _desk(request).transfer(request[USER_KEY].id, body.extension, body.attended)


@agent_action
async def cancel_transfer(request: web.Request) -> dict[str, Any]:
    """Back to the caller from an attended transfer (AMI ``CancelAtxfer``)."""
    return await _desk(request).cancel_transfer(request[USER_KEY].id)


@agent_action
async def hangup(request: web.Request) -> dict[str, Any]:
    """End the agent's own call through Asterisk (AMI Hangup of their channel)."""
    return await _desk(request).hangup(request[USER_KEY].id)


def supervisor_action(action: str) -> Action:
    """A supervisor pauses, readies or logs out another agent (audited with that agent as target)."""

    async def act(request: web.Request) -> dict[str, Any]:
        extension = request.match_info["extension"]
        note_target(request, extension)
        reason = body_of(request, PauseRequest).reason if action == "pause" else None
        try:
            user = request[USER_KEY]
            by = user.display_name or user.username
            return {"agent": await _desk(request).supervise(extension, action, reason, by=by)}
        except DeskError as exc:
            raise ApiError(exc.status, exc.message) from exc

    act.__doc__ = f"A supervisor makes the agent at that extension {action} (as the agent would)."
    return act


def register(app: web.Application, desk: AgentDesk) -> None:
    app[DESK_KEY] = desk
    app[AGENT_LOOKUP_KEY] = desk
    add_messages(app, HelloMessage, AgentMessage)
    no_agent = {404: NO_AGENT}
    desk_errors = {404: "no agent for this user (or, for a transfer, at that extension)",
                   409: "not in a state to do it (e.g. no call to transfer, a call to finish)"}

    def action(path: str, handler: Action, summary: str, **declared: Any) -> None:
        route(app, "POST", path, handler, summary=summary, roles=DESK_ROLES, answer=AgentAnswer,
              errors=desk_errors, target="agent", **declared)

    route(app, "GET", "/api/agent", get_agent, summary="The user's own agent", roles=DESK_ROLES,
          answer=AgentAnswer, errors=no_agent)
    action("/api/agent/login", login, "Log in to queues", body=QueueLogin, body_optional=True)
    action("/api/agent/logout", logout, "Log out of every queue")
    action("/api/agent/pause", pause, "Pause with a reason", body=PauseRequest)
    action("/api/agent/ready", ready, "Ready for calls")
    action("/api/agent/transfer", transfer, "Hand the caller over to another agent",
           body=TransferRequest)
    action("/api/agent/transfer/cancel", cancel_transfer, "Back to the caller from an attended transfer")
    action("/api/agent/hangup", hangup, "Hang up the agent's own call")
    supervised = {404: "no agent at that extension", 409: "not in a state to do it (e.g. on a call)"}
    for verb, summary, body in (
        ("pause", "A supervisor pauses an agent", PauseRequest),
        ("ready", "A supervisor makes an agent ready", None),
        ("logout", "A supervisor logs an agent out of every queue", None),
    ):
        route(app, "POST", rf"/api/agents/{{extension:\d{{1,16}}}}/{verb}", supervisor_action(verb),
              summary=summary, roles=SUPERVISOR_ROLES, denied="supervisors and admins only", body=body,
              answer=AgentAnswer, errors=supervised, target="agent")
