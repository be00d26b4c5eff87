"""Nodes that lead the call on without asking it anything: a prompt played, opening
hours checked, a condition branched on, variables set, a plain jump."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from ctiserver.calendar import DAYS, BusinessCalendar, DayRules, WeeklyHours
from ctiserver.ivr.conditions import evaluate, text
from ctiserver.ivr.engine.run import Event
from ctiserver.ivr.engine.walk import Walk


class RoutingNodes(Walk):
    async def _play(self, node: Mapping[str, Any]) -> str | None:
        await self._say(node.get("prompt"))
        return node.get("next")

    async def _hours(self, node: Mapping[str, Any]) -> str | None:
        at = self.engine.clock()
        calendar = opening_hours(node, self.engine.days)
        local = calendar.local(at)
        always_open = self.engine.hours == "open"
        checked = f"{local:%a %Y-%m-%d %H:%M} {node.get('timezone', 'UTC')}"
        self.current.events.append(Event("hours", checked, "always open" if always_open else None))
        is_open = always_open or calendar.is_open(at)
        self.current.result = "open" if is_open else "closed"
        return node["when_open"] if is_open else node["when_closed"]

    async def _branch(self, node: Mapping[str, Any]) -> str | None:
        for number, case in enumerate(node.get("cases") or (), 1):
            if evaluate(case["when"], self.vars):
                self.current.result = f"case {number}"
                return case["goto"]
        self.current.result = "else"
        return node.get("else")

    async def _set(self, node: Mapping[str, Any]) -> str | None:
        for name, value in (node.get("vars") or {}).items():
            self.vars[str(name)] = self._fill(text(value))
        return node.get("next")

    async def _goto(self, node: Mapping[str, Any]) -> str | None:
        return node["target"]


def opening_hours(node: Mapping[str, Any], days: DayRules) -> BusinessCalendar:
    """An ``hours`` node's business calendar: its ``open`` spans in its ``timezone``, on the
    server's ``days`` (public holidays closed, make-up working days open; not with
    ``public_holidays: false``), with its own ``holidays`` and ``workdays``."""
    base = days if node.get("public_holidays", True) else DayRules(workday_as=days.workday_as)
    rules = base.plus(holidays=node.get("holidays") or (), workdays=node.get("workdays") or ())
    week = WeeklyHours.of_spans(
        (span.get("days") or DAYS, span["from"], span["to"]) for span in node.get("open") or ()
    )
    return BusinessCalendar(ZoneInfo(str(node.get("timezone") or "UTC")), week, rules)
