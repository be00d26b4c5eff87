"""The contact center's words, defined once: roles, customer levels, ticket kinds and statuses.

The database's CHECK constraints, the API's validation and the pages (``GET /api/meta``)
all take them from here.
"""

from __future__ import annotations

USER_ROLES = ("agent", "supervisor", "admin")
#: roles that see every call, the wallboard and the reports
SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})

CUSTOMER_LEVELS = ("normal", "vip")

TICKET_TYPES = ("repair", "complaint", "installation", "moving", "inquiry")
#: the department a new ticket of each kind goes to
DEPARTMENT_BY_TYPE: dict[str, str] = {
    "repair": "repair",
    "complaint": "complaint",
    "installation": "installation",
    "moving": "installation",
    "inquiry": "support",
}

TICKET_STATUSES = ("open", "assigned", "in_progress", "resolved", "closed", "cancelled")

TICKET_SOURCES = ("ivr", "agent")

TICKET_EVENT_KINDS = ("created", "status", "note", "assigned")

CALLBACK_STATUSES = ("pending", "dialing", "connected", "failed", "cancelled", "expired")

#: why a caller is owed a callback (``ctiserver.callbacks.model.Source``)
CALLBACK_SOURCES = ("abandoned", "requested", "closed", "no_agent", "queue")

#: how a callback attempt ended (``ctiserver.callbacks.model.Outcome``)
CALLBACK_OUTCOMES = ("connected", "no_answer", "busy", "failed", "agent_missed")

KB_LANGUAGES = ("zh", "en")

#: why an agent pauses (AMI QueuePause Reason)
PAUSE_REASONS = ("lunch", "training", "after_call_work", "meeting", "other")


def is_extension(text: str) -> bool:
    """An agent's or a supervisor's phone extension: 1 to 16 ASCII digits, so that it may go
    into an AMI action or a dialplan application's arguments as it is (str.isdigit alone
    admits look-alike digits such as "１" or "²")."""
    return 1 <= len(text) <= 16 and text.isascii() and text.isdigit()
