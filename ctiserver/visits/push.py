"""The live ``visit`` message, to those who may see the visit only: supervisors and admins,
and the agents connected now who may see its ticket (``ctiserver.visits.visibility``).

Whether an agent may see a ticket is a query, so the agents' part is sent from a task; the
tasks are chained, so that each agent gets a visit's changes in the order they happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any, Protocol

from ctiserver.tickets import TicketViewer
from ctiserver.visits.views import VisitInfo
from ctiserver.visits.visibility import may_see_visit
from ctiserver.vocabulary import SUPERVISOR_ROLES

log = logging.getLogger(__name__)


class VisitHub(Protocol):
    def connected(self) -> set[tuple[int, str]]: ...
    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...
    def to_user(self, user_id: int, message: dict[str, Any]) -> None: ...


class TicketSight(Protocol):
    async def viewer(self, user_id: int, role: str) -> TicketViewer: ...
    async def visible(self, ticket_id: int, viewer: TicketViewer) -> bool: ...


class VisitPush:
    def __init__(
        self, hub: VisitHub, tickets: TicketSight, serving: Callable[[int], frozenset[int]] | None = None
    ) -> None:
        self._hub = hub
        self._tickets = tickets
        #: user id -> the customers at their desk now (the screen pop's), when pops run
        self.serving = serving
        self._last: asyncio.Task[None] | None = None

    def __call__(self, visit: VisitInfo) -> None:
        message = {"type": "visit", "visit": visit.to_dict()}
        self._hub.to_roles(SUPERVISOR_ROLES, message)
        agents = {user_id for user_id, role in self._hub.connected() if role == "agent"}
        if not agents:
            return
        task = asyncio.get_running_loop().create_task(self._to_agents(visit.ticket_id, message, agents, self._last))
        self._last = task

    async def audience(self, ticket_id: int, agents: Collection[int]) -> set[int]:
        """The agents among ``agents`` who may see the visits of ``ticket_id``."""
        sees: set[int] = set()
        for user_id in agents:
            viewer = await self._tickets.viewer(user_id, "agent")
            if self.serving is not None:
                viewer = replace(viewer, serving=self.serving(user_id))
            if may_see_visit(ticket_visible=await self._tickets.visible(ticket_id, viewer)):
                sees.add(user_id)
        return sees

    async def _to_agents(
        self, ticket_id: int, message: dict[str, Any], agents: Collection[int], before: asyncio.Task[None] | None
    ) -> None:
        try:
            sees = await self.audience(ticket_id, agents)
        except Exception:
            log.exception("visit of ticket %d: who may see it could not be read; agents not told", ticket_id)
            return
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        for user_id in sees:
            self._hub.to_user(user_id, message)
