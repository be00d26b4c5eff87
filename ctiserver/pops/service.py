"""Screen pops: the agent whose phone rings learns who is calling, on their websocket only.

Driven by the AgentBoard: an agent going RINGING for a call pops it (customer
cards looked up by the caller's number, the IVR path and digits, the queue and
the wait); ON_CALL marks it answered; the end of the call ends it; a ring that
stops without an answer withdraws it (the next agent rung gets its own). A call
transferred to another agent pops on that agent's desk as it rings there, saying
who it comes from (the agent who last answered it); the first agent's pop ends
with their part of the call. The messages of one agent are sent in order, however
long a lookup takes.

What a pop shows follows docs/visibility.md: the customers matched by the caller's number
are the ones the agent serves from the moment the call rings at their desk, so the pop shows
their open tickets (and ``customers_on_desk`` lets the agent's other routes show the same
tickets while the call lasts); the customers' recent calls are shown as the calls' rule
says for that agent (their own whole, the others' as contact summaries).

The customer cards are fetched as soon as a call's number is known (while the
caller is in the IVR or the queue), so that the ring itself waits for no
database: under a burst of calls a lookup at ring time queues behind every
other call's writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ctiserver.agents.model import AgentState, AgentUpdate
from ctiserver.calls.model import CallTracker, CallUpdate, is_placeholder, iso_utc
from ctiserver.calls.model.visibility import calls_as_seen
from ctiserver.ivr import LiveIvr
from ctiserver.vocabulary import OPEN_TICKET_STATUSES

log = logging.getLogger(__name__)

CardLookup = Callable[[str], Awaitable[list[dict[str, Any]]]]
#: the tickets opened on a call (TICKET dicts, newest first)
CallTickets = Callable[[str], Awaitable[list[dict[str, Any]]]]


class UserPush(Protocol):
    def to_user(self, user_id: int, message: dict[str, Any]) -> None: ...


class DeskSeats(Protocol):
    """Who answers which phone: the agents' seats (``Agents.seats``), written once for pops and
    callback offers."""

    def seat(self, interface: str, user_id: int, extension: str | None = None) -> None: ...

    def user_at(self, interface: str) -> int | None: ...

    def extension_at(self, interface: str) -> str | None: ...

    def agent_ids_at(self, interface: str) -> tuple[str, ...]: ...


@dataclass
class _Pop:
    user_id: int
    interface: str
    call_id: str
    body: dict[str, Any]
    event: str = "ringing"
    #: the agent's messages go out one after the other
    sending: asyncio.Task[None] | None = field(default=None, repr=False)
    #: when the phone rang (monotonic seconds), for the pop latency
    rang: float = field(default_factory=time.monotonic, repr=False)


class ScreenPopService:
    def __init__(
        self,
        *,
        calls: CallTracker,
        cards: CardLookup,
        ivr_runs: Mapping[str, LiveIvr],
        seats: DeskSeats,
        clock: Callable[[], float] = time.time,
        call_tickets: CallTickets | None = None,
    ) -> None:
        self._calls = calls
        self._cards = cards
        self._call_tickets = call_tickets
        self._ivr_runs = ivr_runs
        self._clock = clock
        self._push: UserPush | None = None
        #: member interface -> the user sitting there
        self.seats = seats
        #: member interface -> its pop, while one is showing
        self._pops: dict[str, _Pop] = {}
        #: member interface -> the delivery of its latest pop, which the next one waits for
        self._last_delivery: dict[str, asyncio.Task[None]] = {}
        #: told the seconds from the phone ringing to its pop reaching the hub (``/metrics``)
        self.on_latency: Callable[[float], None] | None = None
        #: told (call id, interface) when a ringing pop reaches the hub (benchmarks); None normally
        self.on_pushed: Callable[[str, str], None] | None = None
        #: call id -> its customer cards, being fetched or fetched, until the call ends
        self._cards_of_call: dict[str, asyncio.Task[list[dict[str, Any]]]] = {}
        #: call id -> the agent who last answered it (interface, extension, name), until it ends
        self._answered_by: dict[str, tuple[str, str | None, str | None]] = {}

    def on_call_update(self, update: CallUpdate) -> None:
        """The call tracker's listener: start fetching cards once the caller's number is known."""
        call_id = update.call.linkedid
        if update.kind == "ended":
            self._answered_by.pop(call_id, None)
            task = self._cards_of_call.pop(call_id, None)
            if task is not None and not task.done():
                task.cancel()
        elif call_id not in self._cards_of_call and update.call.caller_number:
            self._cards_of_call[call_id] = asyncio.get_running_loop().create_task(
                self._fetch_cards(call_id, update.call.caller_number)
            )

    async def _fetch_cards(self, call_id: str, number: str) -> list[dict[str, Any]]:
        try:
            return await self._cards(number)
        except Exception:
            log.exception("screen pop of call %s: customer lookup failed", call_id)
            return []

    def attach(self, push: UserPush) -> None:
        self._push = push

    def customers_on_desk(self, user_id: int) -> frozenset[int]:
        """The customers of the calls ringing or going on at the user's desk (their pops' cards)."""
        return frozenset(
            card["id"] for pop in self._pops.values() if pop.user_id == user_id
            for card in pop.body.get("customers") or () if isinstance(card.get("id"), int)
        )

    def calls_on_desk(self, user_id: int) -> frozenset[str]:
        """The calls ringing or going on at the user's desk (their pops)."""
        return frozenset(pop.call_id for pop in self._pops.values() if pop.user_id == user_id)

    def _as_seen(self, interface: str, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The cards as the agent at ``interface`` sees them (the calls' rule for their recent calls)."""
        agent_ids = self.seats.agent_ids_at(interface)
        return [
            {**card, "recent_calls": calls_as_seen(card.get("recent_calls") or [], "agent", agent_ids)}
            for card in cards
        ]

    def greeting_for(self, user_id: int) -> list[dict[str, Any]]:
        """A websocket (re)connecting while its agent's call rings or is on gets that pop again."""
        return [
            self._message(pop) for pop in self._pops.values()
            if pop.user_id == user_id and pop.event in ("ringing", "answered")
        ]

    def on_agent_update(self, update: AgentUpdate) -> None:
        """The AgentBoard's listener: runs inside the board, so it only schedules work."""
        agent = update.agent
        user_id = self.seats.user_at(agent.interface)
        if user_id is None:
            return
        pop = self._pops.get(agent.interface)
        if agent.state is AgentState.RINGING and agent.linkedid:
            if is_placeholder(agent.linkedid):
                return  # a callback holding a caller's place: the desk gets the callback offer instead
            if pop is not None and pop.call_id == agent.linkedid:
                return
            if pop is not None:
                self._finish(pop, "withdrawn" if pop.event == "ringing" else "ended")
            self._ring(user_id, agent.interface, agent.linkedid, agent.call_queue)
        elif pop is None:
            return
        elif agent.state is AgentState.ON_CALL and agent.linkedid == pop.call_id:
            self._answered_by[pop.call_id] = (agent.interface, agent.extension, agent.name)
            if pop.event == "ringing":
                pop.body["answered_at"] = iso_utc(self._clock())
                self._send(pop, "answered")
        elif pop.event == "ringing":
            self._finish(pop, "withdrawn")
        elif pop.event == "answered":
            self._finish(pop, "ended")

    def _ring(self, user_id: int, interface: str, call_id: str, queue: str | None) -> None:
        pop = _Pop(user_id, interface, call_id, body={"transferred_from": None})
        previous = self._answered_by.get(call_id)
        if previous is not None and previous[0] != interface:
            pop.body["transferred_from"] = {"extension": previous[1], "name": previous[2]}
        self._pops[interface] = pop
        before = self._last_delivery.get(interface)
        pop.sending = asyncio.get_running_loop().create_task(self._build_and_send(pop, queue, before))
        self._last_delivery[interface] = pop.sending
        pop.sending.add_done_callback(lambda task: self._forget_delivery(interface, task))

    def _forget_delivery(self, interface: str, task: asyncio.Task[None]) -> None:
        if self._last_delivery.get(interface) is task:
            del self._last_delivery[interface]

    async def _build_and_send(self, pop: _Pop, queue: str | None, previous: asyncio.Task[None] | None) -> None:
        now = self._clock()
        call = self._calls.get(pop.call_id)
        number = call.caller_number if call is not None else None
        fetching = self._cards_of_call.get(pop.call_id)
        if fetching is not None:
            cards = await asyncio.shield(fetching)
        else:
            cards = await self._fetch_cards(pop.call_id, number) if number else []
        tickets = await self._tickets_of_call(pop.call_id)
        pop.body.update({
            "call_id": pop.call_id,
            "caller_number": number,
            "caller_name": call.caller_name if call is not None else None,
            "queue": queue or (call.queue if call is not None else None),
            "waited_seconds": round(call.waited(now) or 0.0, 1) if call is not None else None,
            "ringing_at": iso_utc(now),
            "answered_at": pop.body.get("answered_at"),
            "ended_at": None,
            "customers": self._as_seen(pop.interface, with_call_tickets(cards, tickets)),
            "tickets": tickets,
            "ivr": self._ivr_summary(pop.call_id),
        })
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        self._deliver(pop, "ringing")
        if pop.event != "ringing":
            # answered or ended while the lookup ran: say so after the ringing pop
            self._deliver(pop, pop.event)

    async def _tickets_of_call(self, call_id: str) -> list[dict[str, Any]]:
        """Read as the phone rings: the cards were read when the number came, before the IVR
        opened its ticket."""
        if self._call_tickets is None:
            return []
        try:
            return await self._call_tickets(call_id)
        except Exception:
            log.exception("screen pop of call %s: its tickets could not be read", call_id)
            return []

    def _send(self, pop: _Pop, event: str) -> None:
        pop.event = event
        if pop.sending is not None and not pop.sending.done():
            return  # the pending ringing delivery sends this state after it
        self._deliver(pop, event)

    def _finish(self, pop: _Pop, event: str) -> None:
        if event == "ended":
            pop.body["ended_at"] = iso_utc(self._clock())
        self._send(pop, event)
        if self._pops.get(pop.interface) is pop:
            del self._pops[pop.interface]

    def _deliver(self, pop: _Pop, event: str) -> None:
        if self._push is None:
            return
        self._push.to_user(pop.user_id, {"type": "pop", "event": event, "pop": pop.body})
        if event == "ringing" and self.on_latency is not None:
            self.on_latency(time.monotonic() - pop.rang)
        if event == "ringing" and self.on_pushed is not None:
            self.on_pushed(pop.call_id, pop.interface)

    def _message(self, pop: _Pop) -> dict[str, Any]:
        return {"type": "pop", "event": pop.event, "pop": pop.body}

    def _ivr_summary(self, call_id: str) -> dict[str, Any] | None:
        live = self._ivr_runs.get(call_id)
        if live is None or live.run is None:
            return None
        run = live.run
        return {
            "flow": run.flow_name,
            "flow_version": live.flow_version_number,
            "path": [{"node": s.node, "kind": s.kind, "digits": s.digits, "result": s.result} for s in run.path],
            "digits": [s.digits for s in run.path if s.digits and s.kind != "lookup"],
            "variables": {k: v for k, v in run.variables.items() if v},
            "ticket": next((run.variables.get("ticket_number") or None for s in reversed(run.path)
                            if s.kind == "progress" and s.result == "agent"), None),
        }


def with_call_tickets(cards: list[dict[str, Any]], tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards with the open tickets of the call that each lacks (opened after the card was
    read, e.g. by the IVR), newest first."""
    if not tickets:
        return cards
    out = []
    for card in cards:
        known = {t["id"] for t in card.get("open_tickets") or ()}
        extra = [t for t in tickets if t.get("customer_id") == card.get("id") and t["id"] not in known
                 and t.get("status") in OPEN_TICKET_STATUSES]
        if extra:
            merged = sorted([*extra, *(card.get("open_tickets") or ())], key=lambda t: -int(t["id"]))
            card = {**card, "open_tickets": merged}
        out.append(card)
    return out
