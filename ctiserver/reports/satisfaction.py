"""The satisfaction (CSAT) report: post-call survey scores and return-visit scores, each
reported on its own and combined, by agent, department and branch (docs/statistics.md,
"Business figures"). Counting is done in SQL: each query answers a few grouped tallies
(count, sum of scores, satisfied), summed here per group."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import aliased

from ctiserver.calls import CallRow
from ctiserver.customers import Customer, Product
from ctiserver.dispatch import Branch
from ctiserver.ivr import CallSurvey
from ctiserver.reports.model.business import ALL, SATISFIED_SCORE, Tally, satisfaction_row
from ctiserver.tickets import Ticket
from ctiserver.visits import Visit

Query = Any
Runner = Callable[[Query], Awaitable[list[Any]]]
Groups = dict[tuple[str, str], Tally]
ORDER = {"agent": 0, "department": 1, "branch": 2}


def _tally(score: Any) -> tuple[Any, Any, Any]:
    return func.count(), func.sum(score), func.sum(case((score >= SATISFIED_SCORE, 1), else_=0))


def _add(groups: Groups, key: tuple[str, str], n: int, total: Any, satisfied: Any) -> None:
    groups[key] = groups[key].plus(Tally(int(n), int(total or 0), int(satisfied or 0)))


def _ticket_filters(query: Query, model: str | None, department: str | None, ticket: Any = Ticket) -> Query:
    if model is not None:
        product = aliased(Product)
        query = query.join(product, product.id == ticket.product_id).where(product.model == model)
    if department is not None:
        query = query.where(ticket.department == department)
    return query


def _region(query: Query, province: str | None, city: str | None) -> Query:
    if province is not None:
        query = query.where(Customer.province == province)
    if city is not None:
        query = query.where(Customer.city == city)
    return query


async def survey_groups(run: Runner, start: dt.datetime, end: dt.datetime, f: Any) -> Groups:
    """Surveys answered in [start, end): by the call's agent (and ``(all)``), by the
    department and branch of the tickets opened on the call (a call with tickets of two
    departments counts in both)."""
    base = (select().select_from(CallSurvey).outerjoin(CallRow, CallRow.linkedid == CallSurvey.call_linkedid)
            .where(CallSurvey.at >= start, CallSurvey.at < end))
    if f.province is not None or f.city is not None:
        base = _region(base.join(Customer, Customer.id == CallRow.customer_id), f.province, f.city)
    if f.model is not None or f.department is not None:
        other = aliased(Ticket)
        ticketed = _ticket_filters(select(other.id).where(other.call_linkedid == CallSurvey.call_linkedid),
                                   f.model, f.department, other)
        base = base.where(exists(ticketed))
    by_agent = base.add_columns(CallRow.agent.label("agent"), CallSurvey.score).subquery()
    queries = [select(by_agent.c.agent, *_tally(by_agent.c.score)).group_by(by_agent.c.agent)]
    for column in (Ticket.department, Branch.name):
        pairs = _ticket_filters(
            base.add_columns(CallSurvey.id, CallSurvey.score, column.label("key"))
            .join(Ticket, Ticket.call_linkedid == CallSurvey.call_linkedid)
            .outerjoin(Branch, Branch.id == Ticket.branch_id), f.model, f.department).distinct().subquery()
        queries.append(select(pairs.c.key, *_tally(pairs.c.score)).group_by(pairs.c.key))
    # three independent scans: run side by side (each on its own connection)
    agents, departments, branches = await asyncio.gather(*(run(q) for q in queries))
    groups: Groups = defaultdict(Tally.zero)
    for who, n, total, satisfied in agents:
        _add(groups, ("agent", who or ""), n, total, satisfied)
        _add(groups, ("agent", ALL), n, total, satisfied)
    for by, found in (("department", departments), ("branch", branches)):
        for key, n, total, satisfied in found:
            _add(groups, (by, key or ""), n, total, satisfied)
    return groups


async def visit_groups(run: Runner, start: dt.datetime, end: dt.datetime, f: Any) -> Groups:
    """Return visits scored (``finished_at``) in [start, end), by the agent of the call that
    opened the visit's ticket (and ``(all)``), the ticket's department and branch; the
    filters are the ticket's (its customer's region, its product's model, its department)."""
    query = (select(CallRow.agent, Ticket.department, Branch.name, *_tally(Visit.score)).select_from(Visit)
             .join(Ticket, Ticket.id == Visit.ticket_id)
             .outerjoin(CallRow, and_(Ticket.call_linkedid.is_not(None), CallRow.linkedid == Ticket.call_linkedid))
             .outerjoin(Branch, Branch.id == Ticket.branch_id)
             .where(Visit.score.is_not(None), Visit.finished_at >= start, Visit.finished_at < end))
    if f.province is not None or f.city is not None:
        query = _region(query.join(Customer, Customer.id == Ticket.customer_id), f.province, f.city)
    query = _ticket_filters(query, f.model, f.department).group_by(CallRow.agent, Ticket.department, Branch.name)
    groups: Groups = defaultdict(Tally.zero)
    for who, department, branch, n, total, satisfied in await run(query):
        for key in (("agent", who or ""), ("agent", ALL), ("department", department), ("branch", branch or "")):
            _add(groups, key, n, total, satisfied)
    return groups


def satisfaction_rows(surveys: Groups, visits: Groups) -> list[list[Any]]:
    keys: Iterable[tuple[str, str]] = sorted(set(surveys) | set(visits),
                                             key=lambda k: (ORDER[k[0]], k[1] == ALL, k[1]))
    zero = Tally.zero()
    return [[by, key, *satisfaction_row(surveys.get((by, key), zero), visits.get((by, key), zero))]
            for by, key in keys]
