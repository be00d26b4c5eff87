"""Who sits at which phone, and the one push to an agent's desk.

Screen pops and callback offers both reach "the user at this interface": the map from a
member interface to the user who answers it is filled from the agent directory here, once,
and both features push through :meth:`AgentSeats.to_desk` (or look the user up with
:meth:`AgentSeats.user_at`), so the seating is written once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple, Protocol


class PushToUser(Protocol):
    def to_user(self, user_id: int, message: dict[str, Any]) -> None: ...


class Seat(NamedTuple):
    """An agent of the directory: their phone, their name, the user signed in as them, their
    extension (the ``agent`` of the calls they take)."""

    interface: str
    name: str | None
    user_id: int | None
    extension: str | None = None


#: the agent directory as seats, read again whenever someone unseated is to be reached
Roster = Callable[[], Awaitable[Iterable[Seat]]]


class AgentSeats:
    """Member interface -> user, from the directory (``roster``), and the push to that user.

    ``on_seat`` is told every agent of the directory at each reading (the board enrols them,
    so that a transferred call reaches them even outside every queue).
    """

    def __init__(
        self, roster: Roster | None = None, push: PushToUser | None = None,
        on_seat: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self._roster = roster
        self._push = push
        self._on_seat = on_seat
        self._users: dict[str, int] = {}
        self._extensions: dict[str, str] = {}
        self._names: dict[str, str] = {}
        #: deliveries waiting for a reading of the directory, oldest first
        self._sending: list[asyncio.Task[None]] = []

    def attach(self, push: PushToUser) -> None:
        self._push = push

    def seat(self, interface: str, user_id: int, extension: str | None = None) -> None:
        """``user_id`` answers the phone at ``interface``, whose extension is ``extension``."""
        self._users[interface] = user_id
        if extension is not None:
            self._extensions[interface] = extension

    def user_at(self, interface: str) -> int | None:
        return self._users.get(interface)

    def extension_at(self, interface: str) -> str | None:
        return self._extensions.get(interface)

    def agent_ids_at(self, interface: str) -> tuple[str, ...]:
        """What the ``agent`` of a call taken at ``interface`` may read: the extension, or the
        agent's name (a queue names its member so when the desk signs them in)."""
        found = (self._extensions.get(interface), self._names.get(interface))
        return tuple(dict.fromkeys(i for i in found if i))

    async def refresh(self) -> None:
        """Read the directory again (at start, and whenever it changed)."""
        if self._roster is None:
            return
        for seat in await self._roster():
            if self._on_seat is not None:
                self._on_seat(seat.interface, seat.name)
            if seat.name:
                self._names[seat.interface] = seat.name
            if seat.user_id is not None:
                self.seat(seat.interface, seat.user_id, seat.extension)

    def to_desk(self, interface: str, message: dict[str, Any]) -> None:
        """Push ``message`` to whoever sits at ``interface``; messages keep their order, even
        when one needs a look at the directory first (an agent seated since the last reading).
        Nobody there: nothing is sent."""
        user_id = self._users.get(interface)
        if user_id is not None and not self._sending:
            self._send(user_id, message)
            return
        task = asyncio.get_running_loop().create_task(
            self._deliver(interface, message, self._sending[-1] if self._sending else None)
        )
        self._sending.append(task)
        task.add_done_callback(self._sending.remove)

    async def _deliver(self, interface: str, message: dict[str, Any], before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        if interface not in self._users:
            await self.refresh()
        user_id = self._users.get(interface)
        if user_id is not None:
            self._send(user_id, message)

    def _send(self, user_id: int, message: dict[str, Any]) -> None:
        if self._push is not None:
            self._push.to_user(user_id, message)
