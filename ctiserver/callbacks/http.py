"""Callbacks for supervisors: the list, cancel, reassign."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.callbacks.schemas import (
    CallbackAnswer,
    CallbackList,
    CallbackMessage,
    CallbackOfferMessage,
    CallbackQuery,
    CallbackReassign,
)
from ctiserver.callbacks.store import CallbackInfo, CallbackRepository
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import add_messages, body_of, query_of, route
from ctiserver.web.handling import ApiError, path_id


@dataclass(frozen=True)
class CallbacksApi:
    store: CallbackRepository
    queues: frozenset[str]
    clock: Callable[[], float]
    #: told of every change a supervisor makes (the live push)
    changed: Callable[[CallbackInfo], None]


API_KEY = web.AppKey("callbacks", CallbacksApi)


async def search(request: web.Request) -> dict[str, Any]:
    query = query_of(request, CallbackQuery)
    tasks = await request.app[API_KEY].store.search(status=query.status, number=query.number)
    return {"callbacks": [task.to_dict() for task in tasks]}


def _changed(request: web.Request, task: CallbackInfo | None) -> dict[str, Any]:
    if task is None:
        raise ApiError(404, "no such callback")
    note_target(request, task.id)
    request.app[API_KEY].changed(task)
    return {"callback": task.to_dict()}


async def cancel(request: web.Request) -> dict[str, Any]:
    api = request.app[API_KEY]
    try:
        task = await api.store.cancel(path_id(request), api.clock())
    except ValueError as exc:
        raise ApiError(409, str(exc)) from exc
    return _changed(request, task)


async def reassign(request: web.Request) -> dict[str, Any]:
    body = body_of(request, CallbackReassign)
    api = request.app[API_KEY]
    if body.queue is not None and body.queue not in api.queues:
        raise ApiError(400, f"no queue {body.queue!r}")
    try:
        task = await api.store.reassign(path_id(request), api.clock(), queue=body.queue, agent=body.agent)
    except ValueError as exc:
        raise ApiError(409, str(exc)) from exc
    return _changed(request, task)


def register(
    app: web.Application,
    callbacks: CallbackRepository,
    *,
    queues: frozenset[str],
    clock: Callable[[], float],
    changed: Callable[[CallbackInfo], None] = lambda task: None,
) -> None:
    app[API_KEY] = CallbacksApi(callbacks, queues, clock, changed)
    add_messages(app, CallbackMessage, CallbackOfferMessage)
    route(app, "GET", "/api/callbacks", search, summary="Callback tasks, newest miss first",
          roles=SUPERVISOR_ROLES, query=CallbackQuery, answer=CallbackList)
    route(app, "POST", r"/api/callbacks/{id:\d{1,9}}/cancel", cancel, summary="Cancel a pending callback",
          roles=SUPERVISOR_ROLES, answer=CallbackAnswer, target="callback",
          errors={404: "no such callback", 409: "the callback is not pending"})
    route(app, "POST", r"/api/callbacks/{id:\d{1,9}}/reassign", reassign,
          summary="Give a pending callback to another queue or agent", roles=SUPERVISOR_ROLES,
          body=CallbackReassign, answer=CallbackAnswer, target="callback",
          errors={400: "no such queue", 404: "no such callback", 409: "the callback is not pending"})
