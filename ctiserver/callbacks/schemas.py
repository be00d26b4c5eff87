"""The shapes of callbacks: a task, the list, the supervisors' changes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from ctiserver import vocabulary
from ctiserver.web.schemas import OneOf, QueryString, RequestBody, Shape

CallbackStatus = Annotated[str, OneOf(vocabulary.CALLBACK_STATUSES)]
CallbackSource = Annotated[str, OneOf(vocabulary.CALLBACK_SOURCES)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class CallbackView(Shape):
    id: int
    number: str
    customer_id: int | None
    #: the (first) missed call's Linkedid
    call_id: str | None
    queue: str | None
    #: why it is owed: abandoned, requested, closed, no_agent
    source: CallbackSource
    reason: str
    status: CallbackStatus
    missed_at: str
    last_missed_at: str | None
    #: missed calls folded into this task
    misses: int
    #: the longest wait in the queue of those calls, seconds
    wait_seconds: float | None
    #: what the caller chose in the IVR, ``node:keys``
    choices: list[str]
    vip: bool
    due_at: str
    expires_at: str | None
    #: failed attempts (no answer, busy, failed)
    attempts: int
    last_attempt_at: str | None
    #: the last attempt's outcome
    outcome: str | None
    #: the agent it is given to (or who reached the customer)
    agent: str | None
    finished_at: str | None


class CallbackList(Shape):
    """Newest miss first."""

    callbacks: list[CallbackView]


class CallbackAnswer(Shape):
    callback: CallbackView


class CallbackQuery(QueryString):
    status: CallbackStatus | None = None
    number: Annotated[str, StringConstraints(max_length=64)] | None = None


class CallbackReassign(RequestBody):
    """``POST /api/callbacks/{id}/reassign``: another queue, and/or one agent (none: any
    ready agent of the queue)."""

    queue: Name | None = None
    agent: Name | None = None


class CallbackMessage(Shape):
    """Websocket, to supervisors and admins: a callback task changed."""

    type: Literal["callback"]
    callback: CallbackView


class CallbackOfferMessage(Shape):
    """Websocket, to the agent whose phone rings for a callback: who, when they called,
    how long they waited, why, their IVR choices (in ``callback``); then answered (the
    customer picked up) or ended."""

    type: Literal["callback_offer"]
    event: Literal["ringing", "answered", "ended"]
    attempt: int
    callback: CallbackView
