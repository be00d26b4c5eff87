"""The call-center reports of any range of days: ``GET /api/reports/{queues,agents,hours,days}``,
as JSON or (``format=csv``) as a spreadsheet."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.reports.model import csv_text
from ctiserver.reports.schemas import AgentsReport, DaysReport, HoursReport, QueuesReport, ReportRangeQuery
from ctiserver.reports.service import Filters, ReportRangeError, ReportService, report_table
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.contract import ApiHandler, query_of, route
from ctiserver.web.handling import ApiError

REPORTS_KEY = web.AppKey("reports", ReportService)
DENIED = "supervisors and admins only"
ANSWERS: dict[str, tuple[Any, str]] = {
    "queues": (QueuesReport, "Figures per queue over a range of days"),
    "agents": (AgentsReport, "Figures per agent over a range of days"),
    "hours": (HoursReport, "Calls by weekday and hour of day over a range of days"),
    "days": (DaysReport, "Figures per day over a range of days (the trend)"),
}


def handler(name: str) -> ApiHandler:
    async def report(request: web.Request) -> Any:
        """Days are local (the hotline's time zone), ``from`` and ``to`` both included;
        ``format=csv`` answers a UTF-8 CSV (with a BOM) of the same table as the page."""
        reports = request.app[REPORTS_KEY]
        query = query_of(request, ReportRangeQuery)
        try:
            period = reports.period(query.first, query.last)
        except ReportRangeError as exc:
            raise ApiError(400, str(exc)) from exc
        answer = await reports.report(name, period, Filters(query.queue, query.agent))
        if query.format != "csv":
            return answer
        header, rows = report_table(answer)
        filename = f"report-{name}-{answer['from']}-{answer['to']}.csv"
        return web.Response(
            text=csv_text(header, rows), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return report


def register(app: web.Application, reports: ReportService) -> None:
    app[REPORTS_KEY] = reports
    for name, (answer, summary) in ANSWERS.items():
        route(app, "GET", f"/api/reports/{name}", handler(name), summary=summary, roles=SUPERVISOR_ROLES,
              denied=DENIED, query=ReportRangeQuery, answer=answer)
