"""Statistics: the log of offers, answers, abandons and agents' intervals
(``ctiserver.stats.model``: records and figures; public as is, pure).

Other features may use:

* ``StatsRepository``: the stored records (the wallboard's history, the reports);
* ``HotlineDays``: the hotline's days in its time zone.

Read model (read only, exported on purpose): ``StatsRecordRow``, the records' table, which the reports total.
"""

from ctiserver.stats.days import HotlineDays
from ctiserver.stats.store import StatsRepository
from ctiserver.stats.tables import StatsRecordRow

__all__ = [
    "HotlineDays",
    "StatsRecordRow",
    "StatsRepository",
]
