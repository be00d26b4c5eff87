"""The IVR's FlowServices on the database: customers, tickets, callbacks, voicemail, surveys.

Tickets and callbacks are other features' services, handed down by the composition root
(``ctiserver.server``): the IVR names what it needs of them here (``TicketService``,
``CallbackRequests``) and imports neither; so a ticket the IVR opens is stamped by the
server's one clock, with the hotline's SLA rules, like one opened from the desk."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ctiserver.customers import DEFAULT_REGION, CustomerRepository, Product, normalize_phone
from ctiserver.ivr.callback_requesting import PatientCallbackRequests
from ctiserver.ivr.dryrun import DryRunServices
from ctiserver.ivr.engine.services import (
    AppointmentAnswer,
    CallbackRequest,
    CustomerMatch,
    TicketProgress,
    TicketRequest,
    VoicemailRequest,
)
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.ivr.ticket_opening import PatientTicketOpener
from ctiserver.ivr.voicemails import VoicemailRepository
from ctiserver.storage.database import Database

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_file_stem(call_id: str) -> str:
    """``call_id`` as a file name: no separators, no leading dot (so never ``..``)."""
    return _UNSAFE.sub("_", call_id).lstrip(".") or "call"


class _Opened(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def source(self) -> str: ...


class _Progress(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def number(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, Any]: ...

    @property
    def product_id(self) -> int | None: ...

    @property
    def customer_id(self) -> int | None: ...

    @property
    def appointment_start(self) -> dt.datetime | None: ...

    @property
    def appointment_end(self) -> dt.datetime | None: ...


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


class TicketService(Protocol):
    """What the IVR needs of the tickets (``ctiserver.tickets.TicketRepository``)."""

    async def open(
        self, type: str, summary: str, fields: Mapping[str, Any], *,
        customer_id: int | None, call_linkedid: str | None = None, source: str = "ivr",
    ) -> _Opened: ...

    async def list_for_call(self, linkedid: str) -> Sequence[_Opened]: ...

    async def open_for_customer(self, customer_id: int, *, limit: int = 5) -> Sequence[_Progress]: ...

    async def by_keyed_number(self, digits: str) -> _Progress | None: ...

    async def customer_answer(
        self, ticket_id: int, kind: str, note: str, *, actor: str = ..., payload: Mapping[str, Any] | None = None,
    ) -> object: ...


class CallbackRequests(Protocol):
    """What the IVR needs of the callbacks (``ctiserver.callbacks.CallbackRepository``)."""

    async def request(
        self, number: str, *, customer_id: int | None, call_linkedid: str | None, reason: str,
        source: str, queue: str | None = None, choices: Sequence[str] = (), vip: bool = False,
    ) -> _Identified: ...


class DbFlowServices:
    def __init__(
        self,
        db: Database,
        *,
        voicemail_host_dir: Path,
        voicemail_asterisk_dir: str,
        customers: CustomerRepository,
        tickets: TicketService,
        callbacks: CallbackRequests,
        availability: Callable[[str], bool] | None = None,
        callback_queue: str | None = None,
        timezone: str = "Asia/Shanghai",
        region: str = DEFAULT_REGION,
        ticket_wait: float = 20.0,
    ) -> None:
        """``customers``, ``tickets``, ``callbacks``: the server's one instance of each;
        ``callback_queue``: the queue whose agents call them back; ``timezone``: the hotline's,
        in which appointments are said; ``region``: the hotline's, in which phone numbers are compared."""
        self.availability = availability
        self.db = db
        self.zone = ZoneInfo(timezone)
        self.region = region
        self.customers = customers
        self.tickets = tickets
        #: tickets wait for a busy database, then go to the durable writer (``ticket_opening``)
        self.ticket_opener = PatientTicketOpener(self._open_ticket, self._ivr_tickets_of, wait=ticket_wait)
        #: callback requests too (``callback_requesting``)
        self.callback_requests = PatientCallbackRequests(self._record_callback, wait=ticket_wait)
        self.callbacks = callbacks
        self.callback_queue = callback_queue
        self.voicemails = VoicemailRepository(db)
        self.runs = IvrRunRepository(db)
        self.voicemail_host_dir = Path(voicemail_host_dir)
        self.voicemail_asterisk_dir = PurePosixPath(voicemail_asterisk_dir)

    def agents_available(self, queue: str) -> bool:
        """Without an availability source every queue counts as staffed."""
        return True if self.availability is None else self.availability(queue)

    async def lookup_customer(self, number: str) -> CustomerMatch | None:
        found = await self.customers.find_by_phone(number)
        if not found:
            return None
        first = found[0]
        return CustomerMatch(first.id, first.name, first.level, region=first.province)

    async def open_ticket(self, request: TicketRequest) -> str:
        """Open the ticket; its number, which the IVR reads out and sets on the channel
        (TicketQueued: the database stayed busy, it is opened when it answers)."""
        return await self.ticket_opener.open(request)

    async def _ivr_tickets_of(self, call_id: str) -> set[tuple[str, str]]:
        return {(t.type, t.summary) for t in await self.tickets.list_for_call(call_id) if t.source == "ivr"}

    async def _open_ticket(self, request: TicketRequest) -> str:
        fields = dict(request.fields)
        if request.caller_number:
            # the number to reach an unknown caller, who has no customer record
            fields.setdefault("caller_number", request.caller_number)
        ticket = await self.tickets.open(
            request.type, request.summary, fields,
            customer_id=request.customer_id, call_linkedid=request.call_id, source="ivr",
        )
        return ticket.number

    async def request_callback(self, request: CallbackRequest) -> str:
        """The callback's id (CallbackQueued: the database stayed busy, it is recorded when it
        answers)."""
        return await self.callback_requests.request(request)

    async def _record_callback(self, request: CallbackRequest) -> str:
        """Recorded with the customer even when the flow asked before identifying the caller."""
        customer_id = request.customer_id
        if customer_id is None:
            match = await self.lookup_customer(request.number)
            customer_id = match.id if match is not None else None
        callback = await self.callbacks.request(
            request.number, customer_id=customer_id, call_linkedid=request.call_id,
            reason=request.reason, source=request.source, queue=self.callback_queue,
            choices=request.choices, vip=request.vip,
        )
        return str(callback.id)

    async def ticket_progress(
        self, *, customer_id: int | None, keyed: str | None, caller_number: str | None = None,
    ) -> list[TicketProgress]:
        return await progress_of(self.tickets, self.db, self.zone, customer_id=customer_id, keyed=keyed,
                                 caller_number=caller_number, region=self.region)

    async def answer_appointment(self, answer: AppointmentAnswer) -> None:
        """The caller's answer in the ticket's history, by the IVR, with the call it came on. The
        event's kind says what they answered (in the page's language: its word); its note is the
        number they called from, for the staff to call back."""
        await self.tickets.customer_answer(
            answer.ticket_id, answer.answer, answer.caller_number or "",
            actor="ivr",
            payload={"via": "ivr", "call_linkedid": answer.call_id, "caller_number": answer.caller_number},
        )

    async def save_voicemail(self, request: VoicemailRequest) -> str:
        voicemail = await self.voicemails.save(
            call_linkedid=request.call_id, path=request.path,
            caller_number=request.caller_number, customer_id=request.customer_id,
        )
        return str(voicemail.id)

    async def record_survey(self, call_id: str, score: int) -> None:
        await self.runs.record_survey(call_id, score)

    def voicemail_path(self, call_id: str) -> tuple[str, str]:
        """(host path, Asterisk path) without extension; a second message of a call gets ``-2``."""
        stem = safe_file_stem(call_id)
        try:
            self.voicemail_host_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot create voicemail directory %s: %s", self.voicemail_host_dir, exc)
        name, n = stem, 1
        while any(self.voicemail_host_dir.glob(f"{name}.*")):
            n += 1
            name = f"{stem}-{n}"
        return str(self.voicemail_host_dir / name), str(self.voicemail_asterisk_dir / name)


async def progress_of(
    tickets: TicketService, db: Database, zone: ZoneInfo, *, customer_id: int | None, keyed: str | None,
    caller_number: str | None = None, region: str = DEFAULT_REGION,
) -> list[TicketProgress]:
    """The open tickets of the customer, newest first, or the one whose number was ``keyed``
    (not closed nor cancelled), as the ``progress`` node reads them: the product by name, the
    appointment in the hotline's ``zone``.

    A keyed number is anyone's guess (a date and a sequence): its ticket is read out only to its
    own customer (``customer_id``, the caller's) or, for a ticket without a customer, to the
    number that opened it; any other caller finds nothing (and reaches an agent, who checks)."""
    if keyed is not None:
        found = await tickets.by_keyed_number(keyed)
        mine = found is not None and _callers(found, customer_id, caller_number, region)
        chosen = [found] if found is not None and mine and found.status not in ("closed", "cancelled") else []
    elif customer_id is not None:
        chosen = list(await tickets.open_for_customer(customer_id))
    else:
        return []
    products = await _products(db, {t.product_id for t in chosen if t.product_id is not None})
    return [
        TicketProgress(
            t.id, t.number, t.type, t.status,
            products.get(t.product_id) if t.product_id is not None else _product_of_fields(t.fields),
            _local(t.appointment_start, zone), _local(t.appointment_end, zone),
        )
        for t in chosen
    ]


def _callers(ticket: _Progress, customer_id: int | None, caller_number: str | None, region: str) -> bool:
    """Whether the caller may hear ``ticket``: theirs as a customer, or opened from their number."""
    if ticket.customer_id is not None:
        return ticket.customer_id == customer_id
    opened_from = ticket.fields.get("caller_number")
    return bool(caller_number) and isinstance(opened_from, str) and bool(opened_from) and (
        normalize_phone(opened_from, region) == normalize_phone(caller_number or "", region))


async def _products(db: Database, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    async with db.session() as session:
        rows = await session.execute(
            select(Product.id, Product.category, Product.model).where(Product.id.in_(sorted(ids)))
        )
        return {int(i): " ".join(part for part in (category, model) if part) for i, category, model in rows}


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)


def _product_of_fields(fields: Mapping[str, Any]) -> str | None:
    """A ticket without a product record: what the IVR or the agent wrote of it."""
    for key in ("product", "product_model"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:64]
    return None


class LookupOnlyServices(DryRunServices):
    """For dry runs: finds callers (and, given the tickets' service, their open tickets) in the
    real database, changes nothing."""

    def __init__(
        self, db: Database, region: str = DEFAULT_REGION, *, tickets: TicketService | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        super().__init__()
        self._db = db
        self._region = region
        self._customers = CustomerRepository(db, region)
        self._tickets = tickets
        self._zone = ZoneInfo(timezone)

    async def ticket_progress(
        self, *, customer_id: int | None, keyed: str | None, caller_number: str | None = None,
    ) -> list[TicketProgress]:
        if self._tickets is None:
            return await super().ticket_progress(customer_id=customer_id, keyed=keyed, caller_number=caller_number)
        return await progress_of(self._tickets, self._db, self._zone, customer_id=customer_id, keyed=keyed,
                                 caller_number=caller_number, region=self._region)

    async def lookup_customer(self, number: str) -> CustomerMatch | None:
        found = await self._customers.find_by_phone(number)
        if not found:
            return None
        first = found[0]
        return CustomerMatch(id=first.id, name=first.name, level=first.level, region=first.province)
