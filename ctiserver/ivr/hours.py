"""Business hours of ``hours`` nodes: weekly opening spans in a time zone, minus holidays.

A span is ``{days: [mon..sun], from: "HH:MM", to: "HH:MM"}`` and covers
``from <= t < to`` on those days in local time; ``to`` may be ``"24:00"``. Spans
do not cross midnight: write two spans for a night shift. Holidays are local
dates (``YYYY-MM-DD``) on which every span is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_open(node: Mapping[str, Any], at: datetime) -> bool:
    """Whether ``at`` (a naive datetime is taken as UTC) falls in the node's opening hours."""
    local = local_time(node, at)
    if local.date().isoformat() in {_date(d) for d in node.get("holidays") or ()}:
        return False
    day = DAYS[local.weekday()]
    minute = local.hour * 60 + local.minute
    for span in node.get("open") or ():
        days = {str(d).lower()[:3] for d in span.get("days") or DAYS}
        if day in days and minutes(span["from"]) <= minute < minutes(span["to"]):
            return True
    return False


def local_time(node: Mapping[str, Any], at: datetime) -> datetime:
    """``at`` in the node's time zone."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(str(node.get("timezone") or "UTC")))


def minutes(value: Any) -> int:
    """``"HH:MM"`` as minutes since midnight.

    An int is taken as already converted: YAML 1.1 reads an unquoted ``09:00`` as
    the sexagesimal number 540, which is exactly that.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    else:
        hours, sep, mins = str(value).strip().partition(":")
        if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
            raise ValueError(f"not a HH:MM time: {value!r}")
        if int(mins) > 59:
            raise ValueError(f"not a HH:MM time: {value!r}")
        result = int(hours) * 60 + int(mins)
    if not 0 <= result <= 24 * 60:
        raise ValueError(f"not a time of day: {value!r}")
    return result


def _date(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()
