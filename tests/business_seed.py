"""A deterministic generator of the business reports' rows (tests/unit/test_reports_business.py
and bench/reports_business.py): branches, customers in provinces and cities with products of
a few models, tickets of every kind created over some days (status, department, branch, fault
codes, parts, complaints' ``about``, SLA breaches), their created / completed / reopened
events, the customers' calls and post-call surveys, and the return visits owed for the
completions (scored, or not reached yet). Plain dicts, one list per table, written
with ``write``."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer, Product
from ctiserver.dispatch.tables import Branch
from ctiserver.ivr.tables import CallSurvey
from ctiserver.tickets.tables import Ticket, TicketEvent
from ctiserver.visits.tables import Visit
from ctiserver.vocabulary import DEPARTMENT_BY_TYPE, TICKET_STATUSES, TICKET_TYPES

REGIONS = (("广东省", "深圳市"), ("广东省", "广州市"), ("浙江省", "杭州市"), ("北京市", "北京市"), ("=cmd", "@x"))
MODELS = ("KF-35GW", "KF-50LW", "XQB80", "BCD-450", "JSQ-16")
FAULT_CODES = ("E1", "E2", "F3", "H6", "P0")
PARTS = ("compressor", "fan motor", "control board", "sensor", "valve")
ABOUT = ("product", "service", "engineer", "branch")
AGENTS = ("PJSIP/1001", "PJSIP/1002", "PJSIP/1003", "PJSIP/1004")
Tables = dict[Any, list[dict[str, Any]]]


def business_rows(first: dt.datetime, days: int, tickets_per_day: int, customers: int, seed: int = 5) -> Tables:
    rng = random.Random(seed)
    rows: Tables = {Branch: [], Customer: [], Product: [], CallRow: [], Ticket: [], TicketEvent: [], CallSurvey: [],
                    Visit: []}
    for n, (province, city) in enumerate(REGIONS, start=1):
        rows[Branch].append({"id": n, "name": f"{city} branch", "province": province, "city": city})
    products: dict[int, list[int]] = {}
    for c in range(1, customers + 1):
        province, city = rng.choice(REGIONS)
        rows[Customer].append({"id": c, "name": f"customer {c}", "province": province, "city": city})
        products[c] = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            pid = len(rows[Product]) + 1
            products[c].append(pid)
            rows[Product].append({"id": pid, "customer_id": c, "category": "appliance", "model": rng.choice(MODELS)})
    events = rows[TicketEvent]
    for number, created in enumerate(_moments(first, days, tickets_per_day, rng), start=1):
        kind = rng.choices(TICKET_TYPES, weights=(5, 2, 2, 1, 1, 2))[0]
        customer = rng.randint(1, customers) if rng.random() < 0.97 else None
        status = rng.choice(TICKET_STATUSES)
        fields: dict[str, Any] = {}
        if kind == "repair":
            if rng.random() < 0.8:
                fields["fault_code"] = rng.choice(FAULT_CODES)
            if rng.random() < 0.6:
                fields["parts"] = rng.sample(PARTS, rng.randint(1, 2)) + (["sensor"] if rng.random() < 0.1 else [])
        elif kind == "complaint" and rng.random() < 0.9:
            fields["about"] = rng.choice(ABOUT)
        linkedid = f"{number}.1" if rng.random() < 0.7 else None
        rows[Ticket].append({
            "id": number, "number": f"T{number:08d}", "type": kind, "status": status,
            "department": DEPARTMENT_BY_TYPE[kind] if rng.random() < 0.9 else "support",
            "branch_id": rng.randint(1, len(REGIONS)) if rng.random() < 0.85 else None,
            "summary": "s", "fields": fields, "source": "agent", "customer_id": customer,
            "product_id": rng.choice(products[customer]) if customer and rng.random() < 0.9 else None,
            "call_linkedid": linkedid, "created_at": created, "updated_at": created,
            "breached_at": created + dt.timedelta(hours=30) if rng.random() < 0.15 else None,
        })
        events.append(_event(number, created, "created"))
        if linkedid is not None:
            rows[CallRow].append({"linkedid": linkedid, "started_at": created - dt.timedelta(minutes=5),
                                  "customer_id": customer, "agent": rng.choice((*AGENTS, None))})
            if rng.random() < 0.5:
                rows[CallSurvey].append({"call_linkedid": linkedid, "score": rng.randint(1, 5),
                                         "at": created + dt.timedelta(seconds=rng.randint(60, 600))})
        if rng.random() < 0.6:
            done = created + dt.timedelta(hours=rng.uniform(0.5, 120))
            events.append(_event(number, done, "completed"))
            if rng.random() < 0.1:
                events.append(_event(number, done + dt.timedelta(days=1), "reopened"))
                events.append(_event(number, done + dt.timedelta(days=2), "completed"))
            if customer is not None and rng.random() < 0.2:
                rows[CallRow].append({"linkedid": f"{number}.again", "customer_id": customer, "agent": None,
                                      "started_at": done + dt.timedelta(days=rng.uniform(0.1, 10))})
    rows[Visit] = _visits(rows[Ticket], events, random.Random(seed + 1))
    return rows


def _visits(tickets: list[dict[str, Any]], events: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A visit for about half the completions: mostly scored a few hours to days later."""
    customers = {t["id"]: t["customer_id"] for t in tickets}
    visits: list[dict[str, Any]] = []
    for n, event in enumerate(events, start=1):
        if event["kind"] != "completed" or rng.random() < 0.5:
            continue
        done = event["at"] + dt.timedelta(hours=rng.uniform(1, 72))
        scored = rng.random() < 0.8
        visits.append({
            "id": len(visits) + 1, "ticket_id": event["ticket_id"], "completed_event_id": n,
            "customer_id": customers[event["ticket_id"]], "status": "done" if scored else "unreached",
            "attempts": 1, "score": rng.randint(1, 5) if scored else None, "agent": "1001",
            "created_at": event["at"], "finished_at": done,
        })
    return visits


def _moments(first: dt.datetime, days: int, per_day: int, rng: random.Random) -> Iterator[dt.datetime]:
    for day in range(days):
        for _ in range(per_day):
            yield first + dt.timedelta(days=day, seconds=rng.randint(0, 86399))


def _event(ticket: int, at: dt.datetime, kind: str) -> dict[str, Any]:
    return {"ticket_id": ticket, "at": at, "kind": kind, "payload": {}}


async def write(engine: AsyncEngine, rows: Tables, chunk: int = 5000) -> None:
    async with engine.begin() as connection:
        for model, values in rows.items():
            for n in range(0, len(values), chunk):
                await connection.execute(insert(model), values[n:n + chunk])
