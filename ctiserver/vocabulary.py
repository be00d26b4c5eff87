"""The contact center's words, defined once: roles, customer levels, ticket kinds and statuses.

The database's CHECK constraints, the API's validation and the pages (``GET /api/meta``)
all take them from here.
"""

from __future__ import annotations

#: staff: a department's (and, with a branch, a branch's) people, e.g. engineers; they see
#: their department's tickets
USER_ROLES = ("agent", "supervisor", "admin", "staff")
#: roles that see every call, the wallboard and the reports
SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})
#: roles that work at the hotline's desk (an agent's phone and queues, the calls' recordings)
DESK_ROLES = frozenset({"agent", "supervisor", "admin"})

CUSTOMER_LEVELS = ("normal", "vip")

#: each kind's own fields are declared in ``ctiserver.tickets.model.kinds``
TICKET_TYPES = ("repair", "complaint", "installation", "moving", "removal", "inquiry")
#: the department a new ticket of each kind goes to
DEPARTMENT_BY_TYPE: dict[str, str] = {
    "repair": "repair",
    "complaint": "complaint",
    "installation": "installation",
    "moving": "installation",
    "removal": "installation",
    "inquiry": "support",
}

#: the departments tickets go to (the ``departments`` table's codes; the pages name them)
DEPARTMENTS = ("repair", "complaint", "installation", "support")

#: the kinds of product (a product's and the catalogue's ``category``; an imported file may
#: name others, shown as written)
PRODUCT_CATEGORIES = ("air_conditioner", "washing_machine", "refrigerator", "water_heater")

#: what a customer's phone is (``customer_phones.label``; an imported one may say otherwise)
PHONE_KINDS = ("mobile", "home", "office")

#: who changed a ticket when no user did (``ticket_events.actor``; a user's change names them)
TICKET_ACTORS = ("system", "ivr", "dispatch", "sla", "visits")

#: what the business reports count by (their ``by`` column)
REPORT_DIMENSIONS = ("model", "region", "fault_code", "part", "agent", "department", "branch")

#: the workflow (``ctiserver.tickets.model.workflow``): new -> dispatched -> scheduled ->
#: in_progress (<-> waiting_*) -> completed -> return_visit -> closed; reopened goes round again
TICKET_STATUSES = (
    "new", "dispatched", "scheduled", "in_progress", "waiting_customer", "waiting_parts",
    "completed", "return_visit", "closed", "cancelled", "reopened",
)
#: a ticket in one of these is done with
FINAL_TICKET_STATUSES = ("closed", "cancelled")
#: still being worked on (a customer card's open tickets; a complaint keeping its recordings)
OPEN_TICKET_STATUSES = tuple(s for s in TICKET_STATUSES if s not in FINAL_TICKET_STATUSES)
#: the SLA is counted with the shorter targets for urgent tickets (and VIP customers')
TICKET_URGENCIES = ("normal", "urgent")

TICKET_SOURCES = ("ivr", "agent", "sms")

#: ticket_events.kind; a consumer keeps a cursor on ticket_events.id (ids only increase).
#: ``confirmed`` and ``time_requested``: the customer's answer to the appointment (the IVR's
#: ``progress`` node): they keep it, or ask for another time, for the branch's staff to arrange
TICKET_EVENT_KINDS = (
    "created", "dispatched", "scheduled", "started", "waiting", "resumed", "completed",
    "return_visit", "closed", "cancelled", "reopened", "note", "assigned", "escalated",
    "breached", "fields", "confirmed", "time_requested",
)

CALLBACK_STATUSES = ("pending", "dialing", "connected", "failed", "cancelled", "expired")

#: why a caller is owed a callback (``ctiserver.callbacks.model.Source``)
CALLBACK_SOURCES = ("abandoned", "requested", "closed", "no_agent", "queue")

#: how a callback attempt ended (``ctiserver.callbacks.model.Outcome``)
CALLBACK_OUTCOMES = ("connected", "no_answer", "busy", "failed", "agent_missed")

#: a return visit (``ctiserver.visits.model``): pending -> calling -> done, or unreached after
#: the last failed attempt, or cancelled when the ticket moves on without it
VISIT_STATUSES = ("pending", "calling", "done", "unreached", "cancelled")
#: how a visit attempt ended (``ctiserver.visits.model.Outcome``)
VISIT_OUTCOMES = ("answered", "no_answer", "busy", "failed", "agent_missed", "no_score")
#: who calls: an agent from the desk, or the automatic survey call
VISIT_MODES = ("agent", "auto")

KB_LANGUAGES = ("zh", "en")

#: why an agent pauses (AMI QueuePause Reason)
PAUSE_REASONS = ("lunch", "training", "after_call_work", "meeting", "other")


def is_extension(text: str) -> bool:
    """An agent's or a supervisor's phone extension: 1 to 16 ASCII digits, so that it may go
    into an AMI action or a dialplan application's arguments as it is (str.isdigit alone
    admits look-alike digits such as "１" or "²")."""
    return 1 <= len(text) <= 16 and text.isascii() and text.isdigit()
