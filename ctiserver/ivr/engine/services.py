"""What the engine asks of the world outside the call: FlowServices (customers,
tickets, callbacks, voicemail, surveys, agent availability), a PromptSource (prompts
to sound names), and the requests it hands them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CustomerMatch:
    id: int
    name: str
    level: str
    region: str | None = None


class TicketQueued(Exception):
    """The database stayed busy: the ticket is opened when it answers, its number not known now."""


class CallbackQueued(Exception):
    """The database stayed busy: the callback request is recorded when it answers."""


@dataclass(frozen=True)
class TicketRequest:
    type: str
    summary: str
    fields: dict[str, str]
    caller_number: str | None
    customer_id: int | None
    call_id: str
    #: ids of the nodes the call went through, this ticket node last
    flow_path: list[str]


@dataclass(frozen=True)
class CallbackRequest:
    number: str
    customer_id: int | None
    call_id: str
    reason: str
    #: why: "requested", "closed" (the flow found the hotline closed), "no_agent" (the
    #: queue had nobody logged in); ``ctiserver.callbacks.model.Source``
    source: str = "requested"
    #: what the caller chose on the way, ``node:keys``
    choices: tuple[str, ...] = ()
    vip: bool = False


@dataclass(frozen=True)
class VoicemailRequest:
    #: host path of the recorded file, with its ``.wav`` extension
    path: str
    caller_number: str | None
    customer_id: int | None
    call_id: str


@dataclass(frozen=True)
class TicketProgress:
    """An open ticket as the ``progress`` node reads it out; times in the hotline's zone."""

    id: int
    number: str
    type: str
    status: str
    #: the product as the customer knows it (category and model), or None
    product: str | None
    appointment_start: dt.datetime | None
    appointment_end: dt.datetime | None


@dataclass(frozen=True)
class AppointmentAnswer:
    """The caller's answer to a ticket's appointment: ``confirmed`` or ``time_requested``."""

    ticket_id: int
    ticket_number: str
    answer: str
    call_id: str
    caller_number: str | None


class FlowServices(Protocol):
    async def lookup_customer(self, number: str) -> CustomerMatch | None: ...

    async def open_ticket(self, request: TicketRequest) -> str: ...

    async def request_callback(self, request: CallbackRequest) -> str: ...

    async def save_voicemail(self, request: VoicemailRequest) -> str: ...

    async def record_survey(self, call_id: str, score: int) -> None: ...

    async def ticket_progress(
        self, *, customer_id: int | None, keyed: str | None, caller_number: str | None = None,
    ) -> list[TicketProgress]:
        """The open tickets of the customer, newest first, or the one whose number was ``keyed``
        if it is the caller's (their customer's, or opened from ``caller_number``)."""

    async def answer_appointment(self, answer: AppointmentAnswer) -> None: ...

    def voicemail_path(self, call_id: str) -> tuple[str, str]:
        """(host path, Asterisk path) of a new recording, both without extension."""

    def agents_available(self, queue: str) -> bool:
        """Whether an agent of ``queue`` can take a call now (logged in and not paused)."""


class PromptSource(Protocol):
    async def sound_for(self, text: str, language: str) -> str: ...

    def file_sound(self, name: str) -> str: ...
