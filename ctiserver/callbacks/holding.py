"""A caller waiting in a queue who asks to be called back keeps their place.

The queue's ``context`` (queues.conf) sends a caller who presses the callback key to
``[cti-queue-callback]``, app_queue having set QUEUEPOSITION to the place they left;
its FastAGI ``queue-callback`` lands in ``QueueCallbacks.agi``, which

1. records the task (source ``queue``: the caller's number, customer, IVR choices, wait
   so far, queue and position), committed before the caller is told anything;
2. claims an attempt on it in the database (``CallbackRepository.claim_task``), before
   anything is dialled, as every attempt is;
3. tells the dialplan ``CTI_QUEUE_CALLBACK=ok`` (the caller is thanked and hung up; without
   it they go back to the queue at their place);
4. has the dialler Originate the placeholder (``placeholder_action``): a Local channel
   whose ``;2`` half waits in the queue at that position with the caller's QUEUE_PRIO,
   and whose ``;1`` half, once an agent answers, dials the customer from ``[callback]``.

Only the server's own values reach Asterisk: the queue is one of the configured
queues, the number its ASCII digits, the position and priority integers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ctiserver.callbacks.dialer import CALLBACK_CONTEXT, HOLD_CHANNEL, CallbackDialer
from ctiserver.callbacks.model import Miss, Source, dial_digits, queue_position
from ctiserver.callbacks.store import AttemptInfo, CallbackInfo, CallbackRepository
from ctiserver.calls.model import PLACEHOLDER_PREFIX, CallTracker
from ctiserver.settings import Settings
from ctiserver.telephony.agi.server import AgiError, AgiHangup, AgiSession

log = logging.getLogger(__name__)

#: what the dialplan reads to know the callback is recorded
DONE_VARIABLE = "CTI_QUEUE_CALLBACK"


def placeholder_action(
    settings: Settings, task: CallbackInfo, attempt: AttemptInfo, *, queue: str, position: int | None,
    priority: int,
) -> dict[str, Any]:
    """The Originate of a placeholder for ``task`` in ``queue`` (where the caller waited), at
    ``position`` (None: at the end, after the callers of its priority)."""
    if queue not in {q.name for q in settings.hotline.queues}:
        raise ValueError(f"callback {task.id}: {queue!r} is not a queue of the hotline")
    number = dial_digits(task.number)
    if not number:
        raise ValueError(f"callback {task.id}: no digits to dial")
    timeout = settings.callbacks.hold_timeout
    return {
        "Action": "Originate",
        "Channel": HOLD_CHANNEL,
        "Context": CALLBACK_CONTEXT,
        "Exten": number,
        "Priority": "1",
        # what the agent's phone shows: whom they will call back
        "CallerID": f'"CB {number}" <{number}>',
        # the queue's own timeout ends it first; this is the backstop
        "Timeout": str((timeout + 30) * 1000),
        "Async": "true",
        "ChannelId": attempt.channel_id,
        "OtherChannelId": f"{attempt.channel_id}-2",
        "Variable": [
            f"CTI_CALLBACK={task.id}", f"CTI_CALLBACK_ATTEMPT={attempt.id}", f"CTI_HOLD_QUEUE={queue}",
            f"CTI_HOLD_POSITION={position or ''}", f"CTI_HOLD_TIMEOUT={timeout}", f"QUEUE_PRIO={priority}",
        ],
    }


def _integer(text: str | None) -> int:
    value = (text or "").strip()
    negative = value.startswith("-")
    digits = value.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 6:
        return 0
    return -int(digits) if negative else int(digits)


class QueueCallbacks:
    def __init__(
        self,
        store: CallbackRepository,
        dialer: CallbackDialer,
        calls: CallTracker,
        settings: Settings,
        *,
        enrich: Callable[[Miss], Awaitable[Miss]],
        clock: Callable[[], float],
        changed: Callable[[CallbackInfo], None],
    ) -> None:
        self._store = store
        self._dialer = dialer
        self._calls = calls
        self._settings = settings
        self._enrich = enrich
        self._clock = clock
        self._changed = changed
        self._queues = {q.name for q in settings.hotline.queues}

    async def agi(self, session: AgiSession) -> None:
        """FastAGI ``queue-callback``: on the caller's channel, just out of the queue."""
        linkedid = session.linkedid or await session.get_variable("CHANNEL(linkedid)")
        call = self._calls.get(linkedid) if linkedid else None
        number = (call.caller_number if call is not None else None) or session.caller_number
        queue = call.queue if call is not None else await session.get_variable("CTI_QUEUE")
        if not number or not dial_digits(number) or queue not in self._queues:
            log.warning("callback asked in queue %r by %r (call %s): not a queue or no number; back to the queue",
                        queue, number, linkedid)
            return
        position = queue_position(await session.get_variable("QUEUEPOSITION"))
        priority = _integer(await session.get_variable("QUEUE_PRIO"))
        now = self._clock()
        wait = call.waited(now) if call is not None else None
        where = f"at position {position}" if position else "waiting"
        miss = await self._enrich(Miss(
            # no prose: the source, the queue and the wait say it, each page in its language
            number, Source.QUEUE, now, queue=queue,
            wait_seconds=None if wait is None else round(wait, 1), linkedid=linkedid,
        ))
        task, new = await self._store.record_miss(miss)
        self._changed(task)
        log.info("callback %d to %s: asked in queue %s %s (%s)", task.id, task.number, queue, where,
                 "new" if new else f"{task.misses} misses")
        claim = await self._store.claim_task(task.id, now, channel_id=f"{PLACEHOLDER_PREFIX}{uuid.uuid4().hex}")
        try:
            await session.set_variable(DONE_VARIABLE, "ok")
        except (AgiHangup, AgiError):
            log.info("callback %d: the caller hung up before being thanked", task.id)
        if claim is None:
            log.info("callback %d is %s: no placeholder", task.id, task.status)
            return
        # the queue and the number were checked above: nothing here refuses them
        action = placeholder_action(self._settings, claim.task, claim.attempt, queue=queue, position=position,
                                    priority=priority)
        await self._dialer.hold_place(claim, action)
