"""The reports of a range of local days, from the hourly totals and the callbacks
(docs/statistics.md): ``queues``, ``agents``, ``hours`` (weekday x hour) and ``days``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ctiserver.agents import AgentRepository
from ctiserver.reports.business import BusinessFilters, BusinessQueries
from ctiserver.reports.model import (
    AGENT_FIGURES,
    DAY_FIGURES,
    HOUR,
    QUEUE_FIGURES,
    agent_figures,
    combine,
    day_figures,
    day_number,
    day_of_number,
    queue_figures,
)
from ctiserver.reports.model.business import BUSINESS_COLUMNS
from ctiserver.reports.queries import ReportQueries
from ctiserver.stats import HotlineDays
from ctiserver.storage.base import from_epoch

#: the longest range a report covers
MAX_DAYS = 3 * 366
REPORTS = ("queues", "agents", "hours", "days")
HOUR_FIGURES = ("offered", "answered", "abandoned")
ALL_QUEUES = "(all)"


class ReportRangeError(ValueError):
    """A range the reports do not cover (reversed, too long)."""


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    first_day: dt.date
    last_day: dt.date
    start: float
    end: float

    @property
    def hours(self) -> tuple[int, int]:
        """The epoch hours [first, end) of the period: those that start in it."""
        return int(-(-self.start // HOUR)), int(-(-self.end // HOUR))

    @property
    def days(self) -> tuple[int, int]:
        """The local days [first, end) of the period, numbered as the daily totals are."""
        return day_number(self.first_day), day_number(self.last_day) + 1


@dataclass(frozen=True, slots=True)
class Filters:
    queue: str | None = None
    #: an agent's queue member interface
    agent: str | None = None


def extension_finder(agent_interface: str) -> Callable[[str], str | None]:
    """The extension of an interface made from ``hotline.agent_interface`` ("PJSIP/{extension}")."""
    prefix, _, suffix = agent_interface.partition("{extension}")

    def extension(interface: str) -> str | None:
        if interface.startswith(prefix) and interface.endswith(suffix) and len(interface) > len(prefix + suffix):
            return interface[len(prefix): len(interface) - len(suffix)]
        return None

    return extension


class ReportService:
    def __init__(self, queries: ReportQueries, days: HotlineDays, clock: Callable[[], float],
                 queues: Sequence[str], agent_interface: str, business: BusinessQueries | None = None,
                 directory: AgentRepository | None = None) -> None:
        self._queries = queries
        self._directory = directory
        self._business = business
        self.days = days
        self._clock = clock
        self._queues = tuple(queues)
        self._interface = agent_interface
        self._extension = extension_finder(agent_interface)

    def period(self, first: dt.date | None, last: dt.date | None) -> ReportPeriod:
        today = self.days.day_of(self._clock())
        first = first or last or today
        last = last or (today if first <= today else first)
        if last < first:
            raise ReportRangeError("from is after to")
        if (last - first).days >= MAX_DAYS:
            raise ReportRangeError(f"a report covers at most {MAX_DAYS} days")
        return ReportPeriod(first, last, self.days.midnight(first), self.days.midnight(last + dt.timedelta(days=1)))

    async def agent_choices(self) -> list[dict[str, str]]:
        """The directory's agents as the reports know them: interface, extension, name."""
        agents = [] if self._directory is None else await self._directory.all()
        return [{"interface": self._interface.format(extension=a.extension), "extension": a.extension,
                 "name": a.name or a.extension} for a in sorted(agents, key=lambda a: a.extension)]

    async def _names(self) -> dict[str, str]:
        """extension -> the agent's name in the directory."""
        agents = [] if self._directory is None else await self._directory.all()
        return {a.extension: a.name for a in agents if a.name}

    def _agent_entry(self, interface: str, names: dict[str, str]) -> dict[str, Any]:
        extension = self._extension(interface)
        name = names.get(extension or "") or extension or interface
        return {"agent": interface, "name": name, "extension": extension}

    def _head(self, name: str, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        return {"report": name, "from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                "timezone": str(self.days.zone), "queue": filters.queue, "agent": filters.agent}

    def _agent_extension(self, filters: Filters) -> str | None:
        if filters.agent is None:
            return None
        return self._extension(filters.agent) or filters.agent

    async def queues(self, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        first, end = period.days
        rows = await self._queries.totals("day", first, end, ("queue",), queue=filters.queue, agent=filters.agent)
        found = {key[0]: totals for key, totals in rows}
        start, stop = from_epoch(period.start), from_epoch(period.end)
        extension = self._agent_extension(filters)
        owed = await self._queries.callbacks_owed(start, stop, filters.queue, extension)
        callbacks: dict[str, dict[str, int]] = {q: {"owed": n} for q, n in owed.items()}
        for queue, _agent, made, connected in await self._queries.callback_attempts(
                start, stop, filters.queue, extension):
            entry = callbacks.setdefault(queue, {})
            entry["made"] = entry.get("made", 0) + made
            entry["connected"] = entry.get("connected", 0) + connected
        names = [filters.queue] if filters.queue is not None else sorted(
            {*self._queues, *found, *(q for q in callbacks if q)})
        total: dict[str, float] = {}
        for totals in found.values():
            combine(total, totals)
        total_callbacks = {k: sum(c.get(k, 0) for c in callbacks.values()) for k in ("owed", "made", "connected")}
        return {
            **self._head("queues", period, filters),
            "queues": [{"name": name, **queue_figures(found.get(name, {}), callbacks.get(name))} for name in names],
            "total": queue_figures(total, total_callbacks),
        }

    async def agents(self, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        first, end = period.days
        rows = await self._queries.totals("day", first, end, ("agent",), queue=filters.queue, agent=filters.agent,
                                          states=True)
        found = {key[0]: totals for key, totals in rows if key[0]}
        if filters.queue is not None:
            # states are not per queue: the agents of a queue are those who took its calls
            found = {a: t for a, t in found.items() if t.get("answered") or t.get("completed")}
        pauses = await self._queries.pauses(first, end, filters.agent)
        callbacks: dict[str, dict[str, int]] = {}
        for _queue, extension, made, connected in await self._queries.callback_attempts(
                from_epoch(period.start), from_epoch(period.end), filters.queue, self._agent_extension(filters)):
            interface = self._interface.format(extension=extension) if extension else ""
            entry = callbacks.setdefault(interface, {"made": 0, "connected": 0})
            entry["made"] += made
            entry["connected"] += connected
        interfaces = sorted({*found, *(a for a in callbacks if a)} | (set() if filters.queue else set(pauses)))
        names = await self._names()
        return {
            **self._head("agents", period, filters),
            "agents": [
                {**self._agent_entry(interface, names),
                 **agent_figures(found.get(interface, {}), pauses.get(interface, {}), callbacks.get(interface))}
                for interface in interfaces
            ],
        }

    async def _by_hour(self, period: ReportPeriod, filters: Filters) -> list[tuple[dt.datetime, dict[str, float]]]:
        first, end = period.hours
        rows = await self._queries.totals("hour", first, end, ("hour",), queue=filters.queue, agent=filters.agent)
        return [(dt.datetime.fromtimestamp(key[0] * HOUR, self.days.zone), totals) for key, totals in rows]

    async def hours(self, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        cells: dict[tuple[int, int], dict[str, float]] = {}
        for local, totals in await self._by_hour(period, filters):
            combine(cells.setdefault((local.isoweekday(), local.hour), {}), totals)
        return {
            **self._head("hours", period, filters),
            "cells": [
                {"weekday": weekday, "hour": hour,
                 **{name: int(cells.get((weekday, hour), {}).get(name, 0)) for name in HOUR_FIGURES}}
                for weekday in range(1, 8) for hour in range(24)
            ],
        }

    async def days_report(self, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        first, end = period.days
        rows = await self._queries.totals("day", first, end, ("day",), queue=filters.queue, agent=filters.agent)
        days = {day_of_number(key[0]): totals for key, totals in rows}
        count = (period.last_day - period.first_day).days + 1
        every = [period.first_day + dt.timedelta(days=n) for n in range(count)]
        return {
            **self._head("days", period, filters),
            "days": [{"day": day.isoformat(), **day_figures(days.get(day, {}))} for day in every],
        }

    async def business_report(self, name: str, period: ReportPeriod, filters: BusinessFilters) -> dict[str, Any]:
        """One of the business reports (``model.business.BUSINESS_REPORTS``) as one table."""
        if self._business is None:
            raise RuntimeError("the business reports need BusinessQueries")
        rows = await self._business.report(name, from_epoch(period.start), from_epoch(period.end), filters)
        return {"report": name, "from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                "timezone": str(self.days.zone), "province": filters.province, "city": filters.city,
                "model": filters.model, "department": filters.department,
                "columns": list(BUSINESS_COLUMNS[name]), "rows": rows}

    async def report(self, name: str, period: ReportPeriod, filters: Filters) -> dict[str, Any]:
        if name == "queues":
            return await self.queues(period, filters)
        if name == "agents":
            return await self.agents(period, filters)
        if name == "hours":
            return await self.hours(period, filters)
        return await self.days_report(period, filters)


def report_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A report as one table (the page's table and the CSV): header, rows."""
    name = report["report"]
    if name in BUSINESS_COLUMNS:
        return list(report["columns"]), [list(row) for row in report["rows"]]
    if name == "queues":
        rows = [[q["name"], *(q[f] for f in QUEUE_FIGURES)] for q in report["queues"]]
        rows.append([ALL_QUEUES, *(report["total"][f] for f in QUEUE_FIGURES)])
        return ["queue", *QUEUE_FIGURES], rows
    if name == "agents":
        reasons = sorted({r for a in report["agents"] for r in a["pause_seconds"]})
        header = ["name", "extension", "agent", *AGENT_FIGURES, *(f"pause:{r}" for r in reasons)]
        return header, [
            [a["name"], a["extension"], a["agent"], *(a[f] for f in AGENT_FIGURES),
             *(a["pause_seconds"].get(r, 0.0) for r in reasons)]
            for a in report["agents"]
        ]
    if name == "hours":
        return ["weekday", "hour", *HOUR_FIGURES], [
            [c["weekday"], c["hour"], *(c[f] for f in HOUR_FIGURES)] for c in report["cells"]
        ]
    return ["day", *DAY_FIGURES], [[d["day"], *(d[f] for f in DAY_FIGURES)] for d in report["days"]]
