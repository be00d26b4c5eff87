"""The tickets the IVR opens are never dropped because the database was busy or away.

A failure that may pass (SQLite's "database is locked", a lost connection:
``storage.writer.is_transient``) is tried again with back-off while the caller waits, up
to ``wait`` seconds (``ivr.ticket_wait``; an attempt still waiting then, e.g. for a lock,
is given up); then, or if the call ends meanwhile, the request goes to the durable
writer (journaled, replayed at start) and the ticket is opened as soon as the database
answers. Opening from the writer is idempotent: a request whose call already has a
ticket of that type and summary from the IVR opens nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from ctiserver.ivr.engine.services import TicketQueued, TicketRequest
from ctiserver.storage.writer import is_transient

log = logging.getLogger(__name__)
R = TypeVar("R")

#: seconds the caller waits for a busy database before the request is queued
WAIT = 20.0
FIRST_DELAY = 0.05
LONGEST_DELAY = 1.0


def request_to_dict(request: TicketRequest) -> Mapping[str, Any]:
    return asdict(request)


def request_from_dict(data: Mapping[str, Any]) -> TicketRequest:
    return TicketRequest(
        type=str(data["type"]), summary=str(data["summary"]),
        fields={str(k): str(v) for k, v in dict(data.get("fields") or {}).items()},
        caller_number=data.get("caller_number"), customer_id=data.get("customer_id"),
        call_id=str(data["call_id"]), flow_path=[str(n) for n in data.get("flow_path") or []],
    )


async def patiently(
    attempt: Callable[[], Awaitable[R]], *, wait: float, sleep: Callable[[float], Awaitable[None]],
    later: Callable[[], None] | None, queued: type[Exception], what: str,
) -> R:
    """``attempt()``, tried again with back-off while it fails for a reason that may pass,
    up to ``wait`` seconds (an attempt still running then is given up); then ``later()``
    (the durable writer) and ``queued`` is raised. Cancelled (the call ended): ``later()``
    too. Without ``later`` the last error is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = FIRST_DELAY
    tries = 0
    while True:
        try:
            # a statement stuck behind a lock counts as busy too (TimeoutError is transient)
            async with asyncio.timeout(max(deadline - loop.time(), FIRST_DELAY)):
                return await attempt()
        except asyncio.CancelledError:
            if later is not None:
                later()
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            tries += 1
            if loop.time() + delay > deadline:
                if later is None:
                    raise
                log.warning("%s: the database stayed busy for %.0f s (%s); queued, written when it answers",
                            what, wait, exc)
                later()
                raise queued(str(exc)) from exc
            log.info("%s waits for the database (attempt %d): %s", what, tries, exc)
        try:
            await sleep(delay)
        except asyncio.CancelledError:
            if later is not None:
                later()
            raise
        delay = min(delay * 2, LONGEST_DELAY)


class PatientTicketOpener:
    """``open`` opens the ticket (its number); ``opened``: the (type, summary) of the IVR's
    tickets of a call, for the writer's idempotence; ``later``: the durable writer's put."""

    def __init__(
        self,
        open: Callable[[TicketRequest], Awaitable[str]],
        opened: Callable[[str], Awaitable[set[tuple[str, str]]]],
        *,
        wait: float = WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._open = open
        self._opened = opened
        self._wait = wait
        self._sleep = sleep
        self.later: Callable[[TicketRequest], None] | None = None

    async def open(self, request: TicketRequest) -> str:
        """The ticket's number; TicketQueued if the database stayed busy and the request
        went to the durable writer (without one the last error is raised)."""
        later = self.later
        return await patiently(
            lambda: self._open(request), wait=self._wait, sleep=self._sleep,
            later=None if later is None else functools.partial(later, request),
            queued=TicketQueued, what=f"call {request.call_id}: the {request.type} ticket",
        )

    async def open_queued(self, requests: Sequence[TicketRequest]) -> None:
        """The durable writer's save: each request's ticket, unless its call has it already."""
        for request in requests:
            if (request.type, request.summary) in await self._opened(request.call_id):
                continue
            number = await self._open(request)
            log.info("call %s: queued %s ticket opened: %s", request.call_id, request.type, number)
