"""The IVR's FlowServices on the database: customers, tickets, callbacks, voicemail, surveys.

Tickets and callbacks are other features' services, handed down by the composition root
(``ctiserver.server``): the IVR names what it needs of them here (``TicketService``,
``CallbackRequests``) and imports neither; so a ticket the IVR opens is stamped by the
server's one clock, with the hotline's SLA rules, like one opened from the desk."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from ctiserver.customers import DEFAULT_REGION, CustomerRepository
from ctiserver.ivr.dryrun import DryRunServices
from ctiserver.ivr.engine.services import (
    CallbackRequest,
    CustomerMatch,
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
    ) -> None:
        """``customers``, ``tickets``, ``callbacks``: the server's one instance of each;
        ``callback_queue``: the queue whose agents call them back."""
        self.availability = availability
        self.customers = customers
        self.tickets = tickets
        #: tickets wait for a busy database, then go to the durable writer (``ticket_opening``)
        self.ticket_opener = PatientTicketOpener(self._open_ticket, self._ivr_tickets_of)
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


class LookupOnlyServices(DryRunServices):
    """For dry runs: finds callers in the real database, changes nothing."""

    def __init__(self, db: Database, region: str = DEFAULT_REGION) -> None:
        super().__init__()
        self._customers = CustomerRepository(db, region)

    async def lookup_customer(self, number: str) -> CustomerMatch | None:
        found = await self._customers.find_by_phone(number)
        if not found:
            return None
        first = found[0]
        return CustomerMatch(id=first.id, name=first.name, level=first.level, region=first.province)
