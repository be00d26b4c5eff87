"""The callbacks the IVR records are never dropped because the database was busy or away.

As the IVR's tickets (``ticket_opening``): tried again while the caller waits up to
``ivr.ticket_wait`` seconds, then (or if the call ends meanwhile) journaled by a durable
writer and recorded when the database answers; with several nodes a live node writes a
dead node's journal. Recording again is harmless: a call has one callback request
(``callback_misses`` is unique by the call's Linkedid).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from ctiserver.ivr.engine.services import CallbackQueued, CallbackRequest
from ctiserver.ivr.ticket_opening import WAIT, patiently

log = logging.getLogger(__name__)


def callback_to_dict(request: CallbackRequest) -> Mapping[str, Any]:
    return asdict(request)


def callback_from_dict(data: Mapping[str, Any]) -> CallbackRequest:
    return CallbackRequest(
        number=str(data["number"]), customer_id=data.get("customer_id"), call_id=str(data["call_id"]),
        reason=str(data["reason"]), source=str(data.get("source") or "requested"),
        choices=tuple(str(c) for c in data.get("choices") or ()), vip=bool(data.get("vip")),
    )


class PatientCallbackRequests:
    """``record`` records the request (the callback's id); ``later``: the durable writer's put."""

    def __init__(
        self, record: Callable[[CallbackRequest], Awaitable[str]], *, wait: float = WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._record = record
        self._wait = wait
        self._sleep = sleep
        self.later: Callable[[CallbackRequest], None] | None = None

    async def request(self, request: CallbackRequest) -> str:
        """The callback's id; CallbackQueued if the database stayed busy and the request
        went to the durable writer (without one the last error is raised)."""
        later = self.later
        return await patiently(
            lambda: self._record(request), wait=self._wait, sleep=self._sleep,
            later=None if later is None else functools.partial(later, request),
            queued=CallbackQueued, what=f"call {request.call_id}: the callback request",
        )

    async def request_queued(self, requests: Sequence[CallbackRequest]) -> None:
        """The durable writer's save (one request a call: recording it again changes nothing)."""
        for request in requests:
            callback = await self._record(request)
            log.info("call %s: queued callback request recorded: %s", request.call_id, callback)
