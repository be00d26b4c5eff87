"""Return visits: a completed ticket's customer called back for their satisfaction, by the
dialer and the IVR's survey, or by an agent; their scores and post-call surveys are added to
a ticket's detail through the tickets' hook (``ctiserver.tickets.FEEDBACK_KEY``).

Read model (read only, exported on purpose): ``Visit``, the visits' table, for the satisfaction reports.
"""

from ctiserver.visits.tables import Visit

__all__ = [
    "Visit",
]
