"""The call-center reports of any range of days: ``GET /api/reports/{queues,agents,hours,days}``
and the business reports (``BUSINESS_SUMMARIES``), as JSON or (``format=csv``, ``format=xlsx``) as a spreadsheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.reports.business import BusinessFilters
from ctiserver.reports.labels import cell_words, column_labels
from ctiserver.reports.model import csv_text
from ctiserver.reports.schemas import (
    AgentChoices,
    AgentsReport,
    BusinessQuery,
    BusinessReport,
    DaysReport,
    HoursReport,
    QueuesReport,
    ReportRangeQuery,
)
from ctiserver.reports.service import Filters, ReportRangeError, ReportService, report_table
from ctiserver.spreadsheets import XLSX_MEDIA_TYPE, workbook_bytes
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

BUSINESS_SUMMARIES = {
    "tickets": "Tickets by kind, status and department",
    "complaint_rates": "Complaints per thousand installed products, by model and by region",
    "fault_rates": "Repair tickets by fault code and by part replaced",
    "complaints_against": "Complaints by what they are about, department and branch",
    "turnaround": "Repair turnaround (creation to first completion) by department and branch",
    "sla": "Tickets past their SLA by department and branch",
    "first_contact": "First-contact resolution by department",
    "satisfaction": "CSAT: survey and return-visit scores, apart and combined, by agent, department, branch",
}


def handler(name: str) -> ApiHandler:
    async def report(request: web.Request) -> Any:
        """Days are local (the hotline's time zone), ``from`` and ``to`` both included;
        ``format=csv`` answers a UTF-8 CSV (with a BOM) of the same table as the page,
        ``format=xlsx`` an Excel workbook of it."""
        reports = request.app[REPORTS_KEY]
        query = query_of(request, ReportRangeQuery)
        try:
            period = reports.period(query.first, query.last)
        except ReportRangeError as exc:
            raise ApiError(400, str(exc)) from exc
        answer = await reports.report(name, period, Filters(query.queue, query.agent))
        return _served(name, answer, query.format, _Head(query.headers, query.lang))

    return report


def business_handler(name: str) -> ApiHandler:
    async def report(request: web.Request) -> Any:
        """Tickets created in the range (local days, both included), surveys answered in it;
        ``format=csv`` answers the same table as a UTF-8 CSV (with a BOM), ``format=xlsx``
        as an Excel workbook."""
        reports = request.app[REPORTS_KEY]
        query = query_of(request, BusinessQuery)
        try:
            period = reports.period(query.first, query.last)
        except ReportRangeError as exc:
            raise ApiError(400, str(exc)) from exc
        filters = BusinessFilters(query.province, query.city, query.model, query.department)
        answer = await reports.business_report(name, period, filters)
        return _served(name, answer, query.format, _Head(query.headers, query.lang, business=True))

    return report


@dataclass(frozen=True)
class _Head:
    """A spreadsheet's first row: ``labels`` in ``lang``, or the columns' ``codes``."""

    form: str
    lang: str
    business: bool = False

    def table(self, header: list[str], rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
        """The header and the rows as the page shows them, or as codes."""
        if self.form == "codes":
            return header, rows
        return column_labels(header, self.lang, self.business), cell_words(header, rows, self.lang)


def _served(name: str, answer: dict[str, Any], form: str, head: _Head) -> Any:
    if form == "csv":
        return _csv(name, answer, head)
    if form == "xlsx":
        return _xlsx(name, answer, head)
    return answer


async def agent_choices(request: web.Request) -> dict[str, Any]:
    return {"agents": await request.app[REPORTS_KEY].agent_choices()}


def _xlsx(name: str, answer: dict[str, Any], head: _Head) -> web.Response:
    header, rows = head.table(*report_table(answer))
    filename = f"report-{name}-{answer['from']}-{answer['to']}.xlsx"
    # a whole float without ".0", as the page and the CSV show it; text as text, never a formula
    table: list[Sequence[object]] = [header]
    table += ([int(v) if isinstance(v, float) and v.is_integer() else v for v in row] for row in rows)
    return web.Response(
        body=workbook_bytes(name, table), content_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
    )


def _csv(name: str, answer: dict[str, Any], head: _Head) -> web.Response:
    header, rows = head.table(*report_table(answer))
    filename = f"report-{name}-{answer['from']}-{answer['to']}.csv"
    return web.Response(
        text=csv_text(header, rows), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def register(app: web.Application, reports: ReportService) -> None:
    app[REPORTS_KEY] = reports
    # before /api/reports/{name}: a fixed path
    route(app, "GET", "/api/reports/agent-choices", agent_choices, summary="The agents the reports may be filtered by",
          roles=SUPERVISOR_ROLES, denied=DENIED, answer=AgentChoices)
    for name, (answer, summary) in ANSWERS.items():
        route(app, "GET", f"/api/reports/{name}", handler(name), summary=summary, roles=SUPERVISOR_ROLES,
              denied=DENIED, query=ReportRangeQuery, answer=answer)
    for name, summary in BUSINESS_SUMMARIES.items():
        route(app, "GET", f"/api/reports/{name}", business_handler(name), summary=summary,
              roles=SUPERVISOR_ROLES, denied=DENIED, query=BusinessQuery, answer=BusinessReport)
