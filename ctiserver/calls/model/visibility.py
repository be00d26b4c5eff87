"""Who sees which call, and how much of it: the rule, written once.

- supervisors and admins see every call, whole;
- an agent sees the calls they took whole (``agent`` is their extension); of the other calls
  of a customer they may see (the card, the history, the screen pop), a contact summary:
  when, the queue, the wait, how long, how it ended, but not which agent took it (the
  recording follows its own rule, ``ctiserver.recordings.model.may_hear``: their own only);
- staff see no call (they work tickets; a ticket says which call opened it);
- anyone else sees none.

The live calls (``GET /api/calls``, the call updates on the websocket) go to supervisors
and admins only; an agent learns of a call ringing at their desk by its screen pop.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ctiserver.vocabulary import SUPERVISOR_ROLES

#: what an agent does not see of another agent's call
NOT_SUMMARISED = ("agent",)


#: who an agent is in a call's ``agent``: their extension, or their name as a queue member
AgentIds = str | Collection[str] | None


def may_see_call(role: str, extension: AgentIds, call_agent: str | None) -> bool:
    """Whether the user sees the call whole (``extension``: the agent's extension, or every
    form the ``agent`` of their calls takes: extension and member name)."""
    if role in SUPERVISOR_ROLES:
        return True
    if role != "agent" or not extension or call_agent is None:
        return False
    return call_agent == extension if isinstance(extension, str) else call_agent in extension


def call_as_seen(record: Mapping[str, Any], role: str, extension: AgentIds) -> dict[str, Any] | None:
    """A CALL_RECORD as this user sees it: whole, as a contact summary, or not at all (None)."""
    if may_see_call(role, extension, record.get("agent")):
        return dict(record)
    if role == "agent":
        return {**record, **dict.fromkeys(NOT_SUMMARISED)}
    return None


def calls_as_seen(records: Iterable[Mapping[str, Any]], role: str, extension: AgentIds) -> list[dict[str, Any]]:
    return [seen for record in records if (seen := call_as_seen(record, role, extension)) is not None]
