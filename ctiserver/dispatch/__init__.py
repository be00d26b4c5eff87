"""Dispatch: departments, branches and the rules that send a ticket to one.

Other features may use:

* ``DispatchRepository`` and ``rules_in``: where a ticket goes, who belongs where (tickets,
  the work view);
* ``BranchView``: the JSON shape of a branch.

Read model (read only, exported on purpose): ``Branch`` and ``Department``, for the tickets' joins and the
business reports.
"""

from ctiserver.dispatch.schemas import BranchView
from ctiserver.dispatch.store import DispatchRepository, rules_in
from ctiserver.dispatch.tables import Branch, Department

__all__ = [
    "Branch",
    "BranchView",
    "Department",
    "DispatchRepository",
    "rules_in",
]
