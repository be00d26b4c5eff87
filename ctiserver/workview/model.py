"""Who sees a ticket change live, and who must be told it left their view.

A staff member sees the tickets of their department (only their branch's when they
have one) and those they are the engineer of: the one rule of
``ctiserver.tickets.model.visibility`` (``staff_sees``), whose SQL form the list applies;
supervisors and admins see every ticket. A change moves a ticket
between holders (a dispatch to another branch, another engineer): whoever saw it before
and not any more is told it is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ctiserver.tickets.model.visibility import TicketHolding, TicketViewer, staff_sees


@dataclass(frozen=True)
class Place:
    """A staff member: their department and branch (None: every branch)."""

    user_id: int
    department: str | None
    branch_id: int | None


@dataclass(frozen=True)
class Holder:
    """Where a ticket is: its department, branch and engineer."""

    department: str
    branch_id: int | None
    engineer_id: int | None


@dataclass(frozen=True)
class Handover:
    """One event of a ticket's history, as far as holders go."""

    kind: str
    payload: Mapping[str, Any]


def sees(place: Place, holder: Holder) -> bool:
    viewer = TicketViewer(place.user_id, "staff", place.department, place.branch_id)
    return staff_sees(viewer, TicketHolding(holder.department, holder.branch_id, holder.engineer_id))


def audience(places: Iterable[Place], holder: Holder) -> set[int]:
    """The staff among ``places`` who see a ticket held so."""
    return {place.user_id for place in places if sees(place, holder)}


def earlier(now: Holder, steps: Sequence[Handover]) -> Holder:
    """The holder before ``steps`` (in order), undoing what each says it changed."""
    holder = now
    for step in reversed(steps):
        before = step.payload.get("before")
        if not isinstance(before, Mapping):
            continue
        if step.kind == "dispatched" and isinstance(before.get("department"), str):
            holder = replace(holder, department=before["department"], branch_id=_id(before.get("branch_id")))
        if step.kind in ("scheduled", "fields") and "engineer_id" in before:
            holder = replace(holder, engineer_id=_id(before.get("engineer_id")))
    return holder


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
