"""What becomes of missed calls, answered calls and old tasks: the callbacks' service.

The durable writer hands :meth:`MissedCallService.save` the changes the sources saw (a miss
becomes or counts on a task, an answered call cancels what its number is owed); a miss is
first completed with what other features know of the caller (:meth:`MissedCallService.enrich`:
their customer record, VIPs being called back first, and their IVR choices); pending tasks
past their expiry expire. Every change goes to ``changed`` (the notifier).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ctiserver.callbacks.model import Miss
from ctiserver.callbacks.sources import Answered, Change
from ctiserver.callbacks.store import CallbackInfo

log = logging.getLogger(__name__)

#: seconds between looks for pending tasks past their expiry
EXPIRY_INTERVAL = 30.0
#: the IVR steps whose digits say what the caller chose
CHOICE_KINDS = ("menu", "input", "language")


class CallbackTasks(Protocol):
    async def record_miss(self, miss: Miss) -> tuple[CallbackInfo, bool]: ...

    async def cancel_for_number(self, number: str, at: float) -> list[CallbackInfo]: ...

    async def expire(self, now: float) -> list[CallbackInfo]: ...


class CustomerOfPhone(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def level(self) -> str: ...


class CustomersByPhone(Protocol):
    async def find_by_phone(self, number: str) -> Sequence[CustomerOfPhone]: ...


class IvrRunOfCall(Protocol):
    @property
    def path(self) -> list[dict[str, Any]]: ...


class IvrRunsOfCall(Protocol):
    async def list_for_call(self, linkedid: str) -> Sequence[IvrRunOfCall]: ...


def ivr_choices(runs: Sequence[IvrRunOfCall]) -> tuple[str, ...]:
    """``node:digits`` of every menu, input and language step of the call's runs, in order."""
    return tuple(
        f"{step['node']}:{step['digits']}" for run in runs for step in run.path
        if step.get("digits") and step.get("kind") in CHOICE_KINDS
    )


class MissedCallService:
    def __init__(
        self, tasks: CallbackTasks, customers: CustomersByPhone, runs: IvrRunsOfCall, *,
        changed: Callable[[CallbackInfo], None], clock: Callable[[], float],
    ) -> None:
        self._tasks = tasks
        self._customers = customers
        self._runs = runs
        self._changed = changed
        self._clock = clock

    async def enrich(self, miss: Miss) -> Miss:
        """The caller's customer record (VIPs are called back first) and IVR choices."""
        found = await self._customers.find_by_phone(miss.number) if miss.customer_id is None else []
        choices = miss.choices
        if not choices and miss.linkedid:
            choices = ivr_choices(await self._runs.list_for_call(miss.linkedid))
        if found:
            return dataclasses.replace(miss, customer_id=found[0].id, vip=miss.vip or found[0].level == "vip",
                                       choices=choices)
        return dataclasses.replace(miss, choices=choices)

    async def save(self, changes: Sequence[Change]) -> None:
        """The durable writer's sink: each change applied in order."""
        for change in changes:
            if isinstance(change, Answered):
                for task in await self._tasks.cancel_for_number(change.number, change.at):
                    log.info("callback %d to %s cancelled: call %s reached an agent",
                             task.id, task.number, change.linkedid)
                    self._changed(task)
            else:
                task, new = await self._tasks.record_miss(await self.enrich(change))
                log.info("callback %d to %s: %s (%s)", task.id, task.number,
                         "new" if new else f"{task.misses} misses", change.source)
                self._changed(task)

    async def expire_due(self) -> list[CallbackInfo]:
        """Pending tasks past their expiry become expired (each told to ``changed``)."""
        expired = await self._tasks.expire(self._clock())
        for task in expired:
            log.info("callback %d to %s expired", task.id, task.number)
            self._changed(task)
        return expired

    async def expire_forever(self, interval: float = EXPIRY_INTERVAL) -> None:
        while True:
            await self.expire_due()
            await asyncio.sleep(interval)

