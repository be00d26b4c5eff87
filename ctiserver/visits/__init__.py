"""Return visits: a completed ticket's customer called back for their satisfaction, by the
dialer and the IVR's survey, or by an agent; their scores and post-call surveys are added to
a ticket's detail through the tickets' hook (``ctiserver.tickets.FEEDBACK_KEY``).

Read model (read only, exported on purpose): ``Visit``, the visits' table, for the satisfaction reports.

Who sees which visit: whoever may see its ticket (``may_see_visit``, in SQL
``visits_visible_to``; docs/visibility.md).
"""

from ctiserver.visits.tables import Visit
from ctiserver.visits.visibility import may_see_visit, visits_visible_to

__all__ = [
    "Visit",
    "may_see_visit",
    "visits_visible_to",
]
