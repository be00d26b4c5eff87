"""Call-center reports for any range of days: figures by queue, agent, hour and day.

The statistics records (``ctiserver.stats.model``) are folded into hourly totals
(``HourlyTotals``): per epoch hour (the hour starting at ``hour * 3600``), queue and
agent, sums, counts and maxima only, so that the totals of any set of hours are exact
sums of the stored ones; ``levels.py`` sums them further, per local day and per queue,
so that a report reads as few rows as answer it. ``report.py`` turns summed totals into the figures
(rates and averages), ``export.py`` writes them as CSV. docs/statistics.md defines
every figure.
"""

from ctiserver.reports.model.buckets import (
    CALL_COLUMNS,
    HOUR,
    MAX_COLUMNS,
    STATE_COLUMNS,
    SUM_COLUMNS,
    HourlyTotals,
    Thresholds,
    combine,
    hours_of,
)
from ctiserver.reports.model.export import csv_text, defuse
from ctiserver.reports.model.levels import (
    QUEUE_LEVEL_COLUMNS,
    CoarseTotals,
    LocalDays,
    day_number,
    day_of_number,
)
from ctiserver.reports.model.report import (
    AGENT_FIGURES,
    DAY_FIGURES,
    QUEUE_FIGURES,
    agent_figures,
    day_figures,
    queue_figures,
)

__all__ = [
    "AGENT_FIGURES",
    "CALL_COLUMNS",
    "DAY_FIGURES",
    "HOUR",
    "MAX_COLUMNS",
    "QUEUE_FIGURES",
    "QUEUE_LEVEL_COLUMNS",
    "STATE_COLUMNS",
    "SUM_COLUMNS",
    "CoarseTotals",
    "HourlyTotals",
    "LocalDays",
    "Thresholds",
    "agent_figures",
    "combine",
    "csv_text",
    "day_figures",
    "day_number",
    "day_of_number",
    "defuse",
    "hours_of",
    "queue_figures",
]
