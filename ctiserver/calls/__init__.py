"""Calls. What others may use of who sees which call: ``may_see_call``, ``call_as_seen``
(docs/visibility.md)."""

from ctiserver.calls.model.visibility import call_as_seen, calls_as_seen, may_see_call

__all__ = ["call_as_seen", "calls_as_seen", "may_see_call"]
