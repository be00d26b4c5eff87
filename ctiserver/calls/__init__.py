"""Calls: the live call model (``ctiserver.calls.model``: ``CallTracker``, ``Call``,
``CallUpdate``, ``is_placeholder``; public as is, pure) and the records of ended calls.

Other features may use:

* ``CallRepository`` and ``call_record`` (a record's JSON, CALL_RECORD of
  docs/agent-desktop.md): a customer's recent calls for cards and histories;
* ``CallRecordView`` and ``LiveCallView``: the JSON shapes, for shapes that embed a call.

Read model (read only, exported on purpose): ``CallRow``, the ended calls' table, for reports, exports, surveys and
the ticket list's joins.

What others may use of who sees which call: ``may_see_call``, ``call_as_seen``
(docs/visibility.md).
"""

from ctiserver.calls.model.visibility import call_as_seen, calls_as_seen, may_see_call
from ctiserver.calls.schemas import CallRecordView, LiveCallView
from ctiserver.calls.store import CallRepository, call_record
from ctiserver.calls.tables import CallRow

__all__ = [
    "CallRecordView",
    "CallRepository",
    "CallRow",
    "LiveCallView",
    "call_as_seen",
    "call_record",
    "calls_as_seen",
    "may_see_call",
]
