"""One endpoint's deliverer: a supervised task that sends the ticket events after the
endpoint's cursor, one at a time in id order, and moves the cursor only after a 2xx.

The endpoint is a consumer of the ticket-event feed (``ctiserver.tickets.feed``): its
cursor, the events that may be sent (an id that may still commit holds back those after it)
and its wake-ups (a commit on this server, ``EventFeed.wake``, ``tickets.feed_interval``)
are the feed's.

A failed attempt (no answer, a timeout, any status but 2xx) is recorded and tried again
after a back-off with jitter, for ever: no event is skipped. The task may be cancelled
or the process killed at any point: an event whose 2xx was not committed with the cursor
is sent again (same ``X-CTI-Delivery``), one committed is never sent again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable

import aiohttp

from ctiserver.settings import WebhookEndpoint
from ctiserver.tickets import EventFeed, FeedClaim
from ctiserver.webhooks.model import backoff, body, consumer_name, delivery_id, next_step, signature
from ctiserver.webhooks.store import PendingEvent, WebhookStore

log = logging.getLogger(__name__)

USER_AGENT = "ctiserver-webhooks/1"
#: ticket events read per look
BATCH = 50


class DeliveryOutcome(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    #: the cursor moved over events not sent
    PASSED = "passed"
    #: nothing to send (or a gap being waited for)
    IDLE = "idle"
    #: another server holds the endpoint
    BUSY = "busy"


class Deliverer:
    def __init__(
        self,
        endpoint: WebhookEndpoint,
        store: WebhookStore,
        feed: EventFeed,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint = endpoint
        self._store = store
        self._clock = clock
        self._jitter = jitter
        # one event is sent per look: a short read (events of other kinds are passed in steps)
        self.consumer = feed.consumer(consumer_name(endpoint.name), start=endpoint.start, batch=BATCH)
        self._kinds = frozenset(endpoint.kinds)
        #: failed attempts in a row, in this process
        self.failures = 0

    def nudge(self) -> None:
        """Look now instead of at the next poll."""
        self.consumer.wake()

    async def run_forever(self) -> None:
        await self.consumer.prepare()
        timeout = aiohttp.ClientTimeout(total=self.endpoint.timeout)
        async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT}) as http:
            while True:
                outcome = await self.step(http)
                if outcome is DeliveryOutcome.FAILED:
                    await asyncio.sleep(backoff(
                        self.failures, self.endpoint.backoff_min, self.endpoint.backoff_max, self._jitter()
                    ))
                elif outcome is DeliveryOutcome.IDLE:
                    await self.consumer.wait()
                elif outcome is DeliveryOutcome.BUSY:
                    await asyncio.sleep(self.consumer.feed.interval)

    async def step(self, http: aiohttp.ClientSession) -> DeliveryOutcome:
        """One look: claim the cursor, then send the next event, or pass events over."""
        async with self.consumer.claim() as claim:
            if claim is None:
                return DeliveryOutcome.BUSY
            step = next_step([(e.id, e.kind) for e in claim.events], self._kinds)
            if step.send is None:
                if step.advance_to is None:
                    return DeliveryOutcome.IDLE
                await claim.advance(step.advance_to)
                return DeliveryOutcome.PASSED
            event = await self._store.pending(claim.session, step.send)
            if event is None:  # deleted with its ticket meanwhile
                await claim.advance(step.send)
                return DeliveryOutcome.PASSED
            return await self._send(http, claim, event)

    async def _send(self, http: aiohttp.ClientSession, claim: FeedClaim, event: PendingEvent) -> DeliveryOutcome:
        name = self.endpoint.name
        payload = body(name, event.event, event.ticket)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-CTI-Event": event.kind,
            "X-CTI-Delivery": delivery_id(name, event.id),
            "X-CTI-Timestamp": timestamp,
            "X-CTI-Signature": signature(self.endpoint.secret, timestamp, payload),
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            async with http.post(self.endpoint.url, data=payload, headers=headers, allow_redirects=False) as answer:
                status = answer.status
                await answer.content.read(64 * 1024)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration = time.monotonic() - started
        delivered = status is not None and 200 <= status < 300
        self._store.record(claim.session, name, event.id, status_code=status, error=error, duration=duration)
        if delivered:
            claim.move_to(event.id)
        await claim.session.commit()
        if delivered:
            self.failures = 0
            return DeliveryOutcome.DELIVERED
        self.failures += 1
        log.warning(
            "webhook %s: event %d (%s) not delivered (%s), attempt %d in a row",
            name, event.id, event.kind, error or f"HTTP {status}", self.failures,
        )
        return DeliveryOutcome.FAILED
