"""Call-center reports: hourly totals kept with the statistics records (in the same
transaction as each stored batch), and the report routes."""

from __future__ import annotations

from ctiserver.agents import AgentRepository
from ctiserver.core import Core
from ctiserver.reports import http
from ctiserver.reports.business import BusinessQueries
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService
from ctiserver.reports.store import ReportTotals, thresholds
from ctiserver.stats import HotlineDays, StatsRepository


def register(core: Core, records: StatsRepository, directory: AgentRepository | None = None) -> ReportService:
    """``directory``: the agents' (their names and extensions in the agents report and its filter)."""
    totals = ReportTotals(core.db, thresholds(core.settings))
    records.on_stored(totals.stored)
    hotline = core.settings.hotline
    reports = ReportService(
        ReportQueries(core.db), HotlineDays(hotline.timezone), core.clock,
        [queue.name for queue in hotline.queues], hotline.agent_interface, BusinessQueries(core.db), directory,
    )
    http.register(core.app, reports)
    return reports
