"""Contact-center statistics: one log of normalised records, figures computed from it.

``StatsLog`` turns queue call events and agent updates into records: a call
offered to a queue, answered (with its wait), abandoned (with its wait), left
unanswered (timeout, full queue, exit key), a closed agent state interval and
a closed pause. ``QueueFigures.from_records`` computes the figures of a period
from records alone, so the live view (``live_figures``: the log plus the
agents' intervals still open, cut at now) and any later recomputation from the
stored log give the same numbers. docs/statistics.md defines every figure.

The longest current wait is not in the log: it is read from the live calls
(``longest_waits``).

The package: records.py has the records, log.py the ``StatsLog``, figures.py
the figures.
"""

from ctiserver.stats.model.figures import (
    SERVICE_LEVEL_SECONDS,
    AgentTotals,
    QueueFigures,
    QueueTotals,
    TodayFigures,
    live_figures,
    longest_waits,
    open_intervals,
)
from ctiserver.stats.model.log import StatsLog
from ctiserver.stats.model.records import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
    RecordListener,
    record_from_dict,
    record_to_dict,
)

__all__ = [
    "SERVICE_LEVEL_SECONDS",
    "AgentTotals",
    "CallAbandoned",
    "CallAnswered",
    "CallCompleted",
    "CallOffered",
    "CallUnanswered",
    "QueueFigures",
    "QueueTotals",
    "Record",
    "RecordListener",
    "StatsLog",
    "TodayFigures",
    "live_figures",
    "longest_waits",
    "open_intervals",
    "record_from_dict",
    "record_to_dict",
]
