"""The notices' two tasks.

* :class:`NoticePlanner`, the ticket-event feed's ``sms-notices`` consumer: for each event of
  a kind that owes notices, one outbox row per notice (its text rendered now, its key
  unique), in ``pending`` (due now, or when quiet hours end), ``opted_out`` or ``no_phone``;
  the feed moves the consumer's cursor after the rows are committed (a crash between the two
  hands the event over again, and the keys keep the rows single).
* :class:`NoticeSender`: sends the due notices, each claimed first (``sending``, committed),
  then the provider's answer recorded: ``sent`` with its id; after a failure ``pending``
  again after a back-off, or ``failed`` when it cannot help or after ``max_attempts``.
  Quiet hours and an opt-out made meanwhile are checked again just before sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from ctiserver.notices.model import NOTICES, NoticeKind, backoff, clock, notices_for, outbox_key, quiet_until, render
from ctiserver.notices.model import window_text as window
from ctiserver.notices.providers import SmsMessage, SmsProvider
from ctiserver.notices.store import NoticeRow, NoticeStore, TicketFacts, params_json
from ctiserver.notices.templates import Templates
from ctiserver.settings import SmsSettings
from ctiserver.tickets import EventFeed, TicketEventInfo

log = logging.getLogger(__name__)

CONSUMER = "sms-notices"


def _now(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


class QuietHours:
    def __init__(self, settings: SmsSettings, zone: ZoneInfo) -> None:
        self.zone = zone
        self.start = clock(settings.quiet_start)
        self.end = clock(settings.quiet_end)

    def until(self, now: dt.datetime) -> dt.datetime | None:
        return quiet_until(now, self.zone, self.start, self.end)


class NoticePlanner:
    def __init__(
        self, settings: SmsSettings, store: NoticeStore, feed: EventFeed, templates: Templates,
        quiet: QuietHours, *, clock: Callable[[], float] = time.time, planned: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.templates = templates
        self.quiet = quiet
        self._clock = clock
        self._planned = planned
        kinds = sorted({NOTICES[name].event for name in settings.notices if name in NOTICES})
        self.consumer = feed.consumer(CONSUMER, kinds=kinds)

    async def follow(self) -> None:
        await self.consumer.follow(self.handle)

    async def handle(self, event: TicketEventInfo) -> None:
        owed = notices_for(event.kind, self.settings.notices)
        if not owed:
            return
        facts = await self.store.facts(event.ticket_id)
        if facts is None:  # deleted with its ticket meanwhile
            return
        opted_out = await self.store.opted_out(facts.customer_id)
        now = _now(self._clock())
        rows = [self.row(kind, event, facts, now, opted_out=opted_out) for kind in owed]
        if await self.store.add(rows):
            self._planned()

    def row(
        self, kind: NoticeKind, event: TicketEventInfo, facts: TicketFacts, now: dt.datetime, *, opted_out: bool,
    ) -> dict[str, Any]:
        language = self.settings.language
        values = {
            "number": facts.number, "customer": facts.customer or ("客户" if language == "zh" else "customer"),
            "phone": facts.customer_phone or "", "address": facts.address, "product": facts.product,
            "fault": facts.fault, "engineer": facts.engineer,
            "window": window(facts.appointment_start, facts.appointment_end, self.quiet.zone, language),
        }
        template = self.templates.get(kind.name, language)
        phone = facts.customer_phone if kind.recipient == "customer" else facts.engineer_phone
        state = "pending"
        if kind.recipient == "customer" and opted_out:
            state = "opted_out"
        elif not phone:
            state = "no_phone"
        held = self.quiet.until(now) if state == "pending" else None
        return {
            "key": outbox_key(event.id, kind.recipient, kind.name), "ticket_id": event.ticket_id,
            "event_id": event.id, "notice": kind.name, "recipient": kind.recipient, "language": language,
            "phone": phone, "text": render(template.text, values), "template_code": template.provider_code,
            "params": params_json(values), "state": state, "attempts": 0, "due_at": held or now,
            "held_until": held, "created_at": now, "updated_at": now,
        }


class NoticeSender:
    def __init__(
        self, settings: SmsSettings, store: NoticeStore, provider: SmsProvider, quiet: QuietHours, *,
        clock: Callable[[], float] = time.time, jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.quiet = quiet
        self._clock = clock
        self._jitter = jitter
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run_forever(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                await self.orphans()
                sent = await self.step(http)
                if sent:
                    continue
                await self._wait()

    async def _wait(self) -> None:
        seconds = self.settings.interval
        due = await self.store.next_due()
        if due is not None:
            seconds = max(0.05, min(seconds, (due - _now(self._clock())).total_seconds()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._woken.wait()
        self._woken.clear()

    async def orphans(self) -> None:
        """Notices whose sender died while asking the provider (none of ours is that old)."""
        before = _now(self._clock() - 2 * self.settings.timeout - 30)
        found = await self.store.orphans(before)
        if found:
            log.warning("sms: %d notice(s) left sending by a stopped sender marked unknown (not sent again)", found)

    async def step(self, http: aiohttp.ClientSession) -> int:
        """Every due notice, sent; how many were tried. Outside quiet hours, notices held
        for quiet hours that no longer apply (changed settings) are due at once."""
        now = _now(self._clock())
        if self.quiet.until(now) is None:
            await self.store.release_held(now)
        tried = 0
        for notice in await self.store.due(_now(self._clock())):
            if await self.store.claim(notice.id, _now(self._clock())):
                await self.send(http, notice)
                tried += 1
        return tried

    async def send(self, http: aiohttp.ClientSession, notice: NoticeRow) -> None:
        now = _now(self._clock())
        if notice.recipient == "customer" and await self._opted_out(notice):
            await self.store.finish(notice.id, now, state="opted_out")
            return
        held = self.quiet.until(now)
        if held is not None:
            await self.store.finish(notice.id, now, state="pending", due_at=held, held_until=held)
            return
        values = json.loads(notice.params or "{}")
        message = SmsMessage(notice.key, notice.phone or "", notice.text, notice.template_code,
                             {k: str(v) for k, v in values.items()})
        answer = await self.provider.send(http, message)
        now = _now(self._clock())
        if answer.accepted:
            await self.store.finish(notice.id, now, state="sent", sent_at=now, provider=self.provider.name,
                                    provider_id=(answer.provider_id or "")[:128], error=None)
            log.info("sms %s to %s: accepted by %s (%s)", notice.key, notice.phone, self.provider.name,
                     answer.provider_id)
            return
        attempts = notice.attempts + 1
        if answer.permanent or attempts >= self.settings.max_attempts:
            await self.store.finish(notice.id, now, state="failed", attempts=attempts, provider=self.provider.name,
                                    error=answer.error)
            log.warning("sms %s: given up after %d attempt(s): %s", notice.key, attempts, answer.error)
            return
        wait = backoff(attempts, self.settings.backoff_min, self.settings.backoff_max, self._jitter())
        await self.store.finish(notice.id, now, state="pending", attempts=attempts, provider=self.provider.name,
                                error=answer.error, due_at=now + dt.timedelta(seconds=wait))
        log.warning("sms %s: not accepted (%s), attempt %d, again in %.1fs", notice.key, answer.error, attempts, wait)

    async def _opted_out(self, notice: NoticeRow) -> bool:
        facts = await self.store.facts(notice.ticket_id)
        return facts is not None and await self.store.opted_out(facts.customer_id)
