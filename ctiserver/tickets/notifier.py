"""The tickets' pushes to browsers: an SLA escalation goes to the user it names (the branch's
manager) if they may see the ticket (docs/visibility.md), else to supervisors and admins, as
does one that names nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from ctiserver.vocabulary import SUPERVISOR_ROLES

#: may this user see this ticket
TicketSight = Callable[[int, int], Awaitable[bool]]


class EscalationPush(Protocol):
    def to_user(self, user_id: int, message: dict[str, Any]) -> None: ...

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...


class EscalationNotifier:
    def __init__(self, hub: EscalationPush, user_sees: TicketSight) -> None:
        self._hub = hub
        self._user_sees = user_sees
        self._sending: set[asyncio.Task[None]] = set()

    def told(self, event: dict[str, Any]) -> None:
        """The SLA watch's ``told``: one escalation event (see ``TicketEscalationMessage``)."""
        message = {"type": "ticket_escalation", "escalation": event}
        if event.get("user_id") is not None:
            task = asyncio.get_running_loop().create_task(
                self._to_manager(int(event["user_id"]), int(event["ticket_id"]), message)
            )
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        else:
            self._hub.to_roles(SUPERVISOR_ROLES, message)

    async def _to_manager(self, user_id: int, ticket_id: int, message: dict[str, Any]) -> None:
        if await self._user_sees(user_id, ticket_id):
            self._hub.to_user(user_id, message)
        else:
            self._hub.to_roles(SUPERVISOR_ROLES, message)

    async def drain(self) -> None:
        """Wait for the escalations being delivered (tests)."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
