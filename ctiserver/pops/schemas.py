"""The screen pop: POP of docs/agent-desktop.md, pushed to the agent whose phone rings."""

from __future__ import annotations

from typing import Literal

from ctiserver.pops.card_schemas import CustomerCard
from ctiserver.tickets import TicketView
from ctiserver.web.schemas import Moment, Seconds, Shape


class TransferredFrom(Shape):
    """The agent who last answered the call before it was transferred."""

    extension: str
    name: str


class IvrStep(Shape):
    node: str
    kind: str
    digits: str | None
    result: str | None


class IvrSummary(Shape):
    """What the caller did in the IVR before the queue."""

    flow: str
    flow_version: int | None
    path: list[IvrStep]
    #: the keys pressed, in order
    digits: list[str]
    variables: dict[str, str]
    #: the ticket the caller asked an agent about (the ``progress`` node's agent way): the pop
    #: opens on it; null otherwise
    ticket: str | None = None


class PopView(Shape):
    call_id: str
    caller_number: str | None
    caller_name: str | None
    #: null for a transferred call
    queue: str | None
    transferred_from: TransferredFrom | None
    waited_seconds: Seconds | None
    ringing_at: Moment
    answered_at: Moment | None
    ended_at: Moment | None
    #: every customer with the caller's number; empty: offer the quick-create form
    customers: list[CustomerCard]
    #: the tickets opened on this call before it rang here (e.g. by the IVR), newest first
    tickets: list[TicketView]
    ivr: IvrSummary | None


class PopMessage(Shape):
    """``ringing`` when the phone rings, ``answered``, ``ended``; ``withdrawn`` when the
    agent did not answer (the next agent rung gets its own ``ringing``)."""

    type: Literal["pop"]
    event: Literal["ringing", "answered", "ended", "withdrawn"]
    pop: PopView
