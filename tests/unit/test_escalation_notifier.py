"""EscalationNotifier: an SLA escalation reaches the manager it names only if they may see the
ticket; otherwise, and when it names nobody, the supervisors (fakes, no I/O)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ctiserver.tickets.notifier import EscalationNotifier
from ctiserver.vocabulary import SUPERVISOR_ROLES


class Hub:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, dict[str, Any]]] = []

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.sent.append((user_id, message))

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None:
        self.sent.append((frozenset(roles), message))


async def test_escalations_go_to_a_manager_who_sees_the_ticket_else_to_supervisors() -> None:
    hub = Hub()

    async def user_sees(user_id: int, ticket_id: int) -> bool:
        return (user_id, ticket_id) == (12, 3)

    notifier = EscalationNotifier(hub, user_sees)
    seen = {"ticket_id": 3, "level": 1, "user_id": 12}
    unseen = {"ticket_id": 4, "level": 1, "user_id": 12}
    nobody = {"ticket_id": 5, "level": 2, "user_id": None}
    for event in (seen, unseen, nobody):
        notifier.told(event)
    await notifier.drain()
    bosses = frozenset(SUPERVISOR_ROLES)
    assert sorted(hub.sent, key=lambda sent: sent[1]["escalation"]["ticket_id"]) == [
        (12, {"type": "ticket_escalation", "escalation": seen}),
        (bosses, {"type": "ticket_escalation", "escalation": unseen}),
        (bosses, {"type": "ticket_escalation", "escalation": nobody}),
    ]
