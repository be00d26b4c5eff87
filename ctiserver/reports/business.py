"""The business reports (tickets, complaint and fault rates, turnaround, SLA, first-contact
resolution, satisfaction) of a range of local days, read from the tickets, their events,
products, customers, calls, post-call surveys and return visits (docs/statistics.md,
"Business figures").

Every report counts the tickets **created** in the range (surveys: answered in it), filtered
by the customer's region (province, city), the product's model and the ticket's department.
Counting is grouped in SQL, first-contact resolution and the JSON fields (fault code, parts)
too, with a dialect-specific expression where SQLite and PostgreSQL differ; only the repair
durations (median) are worked out here from the rows, with ``model.business``. The range
scans lean on the indexes of ``reports.tables`` (migration 0016_business_speed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, distinct, exists, func, literal_column, or_, select, text, true

from ctiserver.calls import CallRow
from ctiserver.customers import Customer, Product
from ctiserver.dispatch import Branch
from ctiserver.reports.model.business import (
    ALL,
    BUSINESS_COLUMNS,
    FIRST_CONTACT_WINDOW,
    hours_figures,
    per_thousand,
    percent,
)
from ctiserver.reports.satisfaction import satisfaction_rows, survey_groups, visit_groups
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket, TicketEvent

Row = list[Any]
#: a SELECT being built (SQLAlchemy's Select is generic over its columns)
Query = Any


@dataclass(frozen=True, slots=True)
class BusinessFilters:
    province: str | None = None
    city: str | None = None
    model: str | None = None
    department: str | None = None


class BusinessQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _all(self, query: Query) -> list[Any]:
        async with self._db.session() as session:
            if self._db.engine.dialect.name == "postgresql":
                # the per-ticket EXISTS probes make the planner's cost estimate huge, which
                # turns on JIT compilation: ~250 ms of compiling for a query that runs in less
                await session.execute(text("SET LOCAL jit = off"))
            return list((await session.execute(query)).all())

    @staticmethod
    def _tickets(query: Query, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> Query:
        """``query`` over the tickets created in [start, end) that pass the filters."""
        query = query.where(Ticket.created_at >= start, Ticket.created_at < end)
        if f.province is not None or f.city is not None:
            query = query.join(Customer, Customer.id == Ticket.customer_id)
            if f.province is not None:
                query = query.where(Customer.province == f.province)
            if f.city is not None:
                query = query.where(Customer.city == f.city)
        if f.model is not None:
            query = query.join(Product, Product.id == Ticket.product_id).where(Product.model == f.model)
        if f.department is not None:
            query = query.where(Ticket.department == f.department)
        return query

    async def report(self, name: str, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        rows: list[Row] = await getattr(self, name)(start, end, f)
        width = len(BUSINESS_COLUMNS[name])
        if any(len(row) != width for row in rows):
            raise RuntimeError(f"{name}: a row is not {width} columns wide")
        return rows

    async def tickets(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        query = self._tickets(select(Ticket.type, Ticket.status, Ticket.department, func.count()), start, end, f)
        query = query.group_by(Ticket.type, Ticket.status, Ticket.department)
        return sorted([list(r) for r in await self._all(query)], key=lambda r: (r[0], r[1], r[2]))

    async def complaint_rates(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        region = Customer.city if f.province is not None else Customer.province
        complaints = self._tickets(
            select(Product.model, region, func.count()).select_from(Ticket)
            .join(Product, Product.id == Ticket.product_id).join(Customer, Customer.id == Ticket.customer_id)
            .where(Ticket.type == "complaint"),
            start, end, BusinessFilters(department=f.department))
        complaints = _region_model(complaints, f).group_by(Product.model, region)
        installed = _region_model(
            select(Product.model, region, func.count()).select_from(Product)
            .join(Customer, Customer.id == Product.customer_id), f).group_by(Product.model, region)
        counted: dict[str, dict[str, list[int]]] = {"model": defaultdict(lambda: [0, 0]),
                                                    "region": defaultdict(lambda: [0, 0])}
        for index, found in enumerate(await asyncio.gather(self._all(complaints), self._all(installed))):
            for model, place, n in found:
                counted["model"][model or ""][index] += n
                counted["region"][place or ""][index] += n
        return [[by, key, c, i, per_thousand(c, i)] for by in ("model", "region")
                for key, (c, i) in sorted(counted[by].items())]

    async def fault_rates(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        """Counted in SQL: the repairs, their text ``fault_code`` and the distinct text
        entries of their ``parts`` list (a ticket listing a part twice counts once)."""
        repairs_of = self._tickets(select(func.count()).select_from(Ticket).where(Ticket.type == "repair"),
                                   start, end, f)
        code, is_text, part, part_from = self._json_texts()
        codes = self._tickets(select(code, func.count()).select_from(Ticket)
                              .where(Ticket.type == "repair", is_text, code != ""), start, end, f).group_by(code)
        parts = self._tickets(select(part, func.count(distinct(Ticket.id))).select_from(Ticket), start, end, f)
        parts = part_from(parts.where(Ticket.type == "repair")).group_by(part)
        counted, by_code, by_part = await asyncio.gather(self._all(repairs_of), self._all(codes), self._all(parts))
        repairs = int(counted[0][0])
        found = [("fault_code", by_code), ("part", by_part)]
        return [["fault_code", ALL, repairs, 100.0 if repairs else None],
                *([by, key, n, percent(n, repairs)] for by, rows in found for key, n in sorted(rows))]

    def _json_texts(self) -> tuple[Any, Any, Any, Any]:
        """(fault code text, "it is text", a part's text, joining a ticket to its parts) for
        the dialect: SQLite's json_extract/json_each, PostgreSQL's json operators."""
        if self._db.engine.dialect.name == "sqlite":
            entries = func.json_each(Ticket.fields, "$.parts").table_valued("value", "type", name="part_entries")
            return (func.json_extract(Ticket.fields, "$.fault_code"),
                    func.json_type(Ticket.fields, "$.fault_code") == "text", entries.c.value,
                    lambda q: q.join(entries, true()).where(func.json_type(Ticket.fields, "$.parts") == "array",
                                                            entries.c.type == "text", entries.c.value != ""))
        listed = case((func.json_typeof(Ticket.fields["parts"]) == "array", Ticket.fields["parts"]),
                      else_=literal_column("'[]'::json"))
        items = func.json_array_elements(listed).table_valued("value", name="part_entries")
        text = items.c.value.op("#>>")(literal_column("'{}'"))
        return (Ticket.fields["fault_code"].as_string(), func.json_typeof(Ticket.fields["fault_code"]) == "string",
                text, lambda q: q.join(items, true()).where(func.json_typeof(items.c.value) == "string", text != ""))

    async def complaints_against(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        about = Ticket.fields["about"].as_string()
        query = self._tickets(
            select(about, Ticket.department, Branch.name, func.count()).select_from(Ticket)
            .outerjoin(Branch, Branch.id == Ticket.branch_id).where(Ticket.type == "complaint"), start, end, f)
        query = query.group_by(about, Ticket.department, Branch.name)
        return sorted(([a or "", d, b or "", n] for a, d, b, n in await self._all(query)), key=lambda r: r[:3])

    async def turnaround(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        query = self._tickets(
            select(Ticket.department, Branch.name, Ticket.created_at, func.min(TicketEvent.at)).select_from(Ticket)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id).outerjoin(Branch, Branch.id == Ticket.branch_id)
            .where(Ticket.type == "repair", TicketEvent.kind == "completed"), start, end, f)
        query = query.group_by(Ticket.id, Ticket.department, Branch.name, Ticket.created_at)
        spans: dict[tuple[str, str], list[float]] = defaultdict(list)
        for department, branch, created, completed in await self._all(query):
            seconds = (_aware(completed) - _aware(created)).total_seconds()
            spans[(department, branch or "")].append(seconds)
            spans[(ALL, "")].append(seconds)
        ordered = sorted(spans.items(), key=lambda kv: (kv[0][0] == ALL, kv[0]))
        return [[d, b, *hours_figures(s)] for (d, b), s in ordered]

    async def sla(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        breached = func.count(Ticket.breached_at)
        query = self._tickets(
            select(Ticket.department, Branch.name, func.count(), breached).select_from(Ticket)
            .outerjoin(Branch, Branch.id == Ticket.branch_id), start, end, f)
        query = query.group_by(Ticket.department, Branch.name)
        rows = sorted(([d, b or "", n, int(x)] for d, b, n, x in await self._all(query)), key=lambda r: r[:2])
        total = [sum(r[2] for r in rows), sum(r[3] for r in rows)]
        return [*([*r, percent(r[3], r[2])] for r in rows), [ALL, "", *total, percent(total[1], total[0])]]

    async def first_contact(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        """Judged in SQL, one row per department: each completed ticket's first completion,
        whether it was reopened, whether its customer called in the window after it."""
        done = self._tickets(
            select(Ticket.id.label("id"), Ticket.department.label("department"),
                   Ticket.customer_id.label("customer_id"), func.min(TicketEvent.at).label("at"))
            .select_from(Ticket).join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(TicketEvent.kind == "completed"), start, end, f)
        done = done.group_by(Ticket.id, Ticket.department, Ticket.customer_id).subquery()
        reopened = exists().where(TicketEvent.ticket_id == done.c.id, TicketEvent.kind == "reopened")
        called = exists().where(CallRow.customer_id == done.c.customer_id, CallRow.started_at > done.c.at,
                                CallRow.started_at <= self._window_end(done.c.at))
        resolved = func.sum(case((or_(reopened, called), 0), else_=1))
        counted: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for department, n, r in await self._all(
                select(done.c.department, func.count(), resolved).group_by(done.c.department)):
            for key in (department, ALL):
                counted[key][0] += n
                counted[key][1] += int(r or 0)
        return [[d, n, r, percent(r, n)] for d, (n, r) in sorted(counted.items(), key=lambda kv: (kv[0] == ALL, kv[0]))]

    def _window_end(self, at: Any) -> Any:
        """``at`` + ``FIRST_CONTACT_WINDOW`` in SQL. SQLite keeps naive UTC text with
        microseconds: whole days are added to the date and time, the fraction kept as is."""
        if self._db.engine.dialect.name == "sqlite":
            days = FIRST_CONTACT_WINDOW.days
            return func.strftime("%Y-%m-%d %H:%M:%S", at, f"+{days} days").concat(func.substr(at, 20))
        return at + literal_column(f"interval '{FIRST_CONTACT_WINDOW.days} days'")

    async def satisfaction(self, start: dt.datetime, end: dt.datetime, f: BusinessFilters) -> list[Row]:
        surveys, visits = await asyncio.gather(survey_groups(self._all, start, end, f),
                                               visit_groups(self._all, start, end, f))
        return satisfaction_rows(surveys, visits)


def _region_model(query: Query, f: BusinessFilters) -> Query:
    """``query`` (which joins customers and products) narrowed to a region and a model."""
    if f.province is not None:
        query = query.where(Customer.province == f.province)
    if f.city is not None:
        query = query.where(Customer.city == f.city)
    if f.model is not None:
        query = query.where(Product.model == f.model)
    return query


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
