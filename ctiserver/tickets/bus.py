"""The in-process ticket-event bus: what this process just committed, handed to its listeners
at once.

Every ``TicketRepository`` (and the SLA watch) on a :class:`Database` publishes, right
after its transaction commits, the ticket as it now is and the events the transaction
wrote. The ticket-event feed (``ctiserver.tickets.feed``) listens to wake its consumers,
and the work view pushes the commits without reading the database. The bus only knows this
process's writes: ``ticket_events`` stays the log that the feed's consumers follow with
their cursors to catch up on other processes' writes and after a restart, so a listener
must tell the events it had from the bus from those it reads (by their ids).

A listener is called synchronously, in the writer's task, after the commit: it must not
block; one that raises is logged and the other listeners still run
(:class:`ctiserver.listeners.Listeners`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ctiserver.listeners import Listeners
from ctiserver.storage.database import Database
from ctiserver.tickets.infos import TicketEventInfo, TicketInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Committed:
    """One committed transaction: the ticket after it, and the events it wrote, in id order."""

    ticket: TicketInfo
    events: tuple[TicketEventInfo, ...]


Listener = Callable[[Committed], None]


class TicketBus:
    def __init__(self) -> None:
        self._listeners: Listeners[Committed] = Listeners(log, "ticket bus")

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every commit from now on; the function that unsubscribes."""
        return self._listeners.subscribe(listener)

    def publish(self, ticket: TicketInfo, events: Sequence[TicketEventInfo]) -> None:
        if not events or not self._listeners:
            return
        committed = Committed(ticket, tuple(sorted(events, key=lambda event: event.id)))
        self._listeners.notify(committed, f"the commit of event {committed.events[-1].id}")


_BUSES: weakref.WeakKeyDictionary[Database, TicketBus] = weakref.WeakKeyDictionary()


def bus_of(db: Database) -> TicketBus:
    """The bus of the repositories on ``db`` (one per Database object, so per process)."""
    bus = _BUSES.get(db)
    if bus is None:
        bus = _BUSES[db] = TicketBus()
    return bus
