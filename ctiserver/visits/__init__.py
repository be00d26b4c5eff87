"""Return visits. Who sees which visit: whoever may see its ticket (``may_see_visit``, in SQL
``visits_visible_to``; docs/visibility.md)."""

from ctiserver.visits.visibility import may_see_visit, visits_visible_to

__all__ = ["may_see_visit", "visits_visible_to"]
