"""Call-center reports: the coarser levels of the hourly totals (``ctiserver.reports.model.levels``):
per local day, queue and agent; per local day and queue; per hour and queue; pause seconds
per local day, agent and reason; and the business reports' range indexes (tickets'
creation, surveys' answer). On SQLite they are WITHOUT ROWID tables (rows in the
primary key's order, the range column first); backfilled by summing the stored hourly
rows in the hotline's time zone (of the settings the server upgrades with, or, from the
``alembic`` command line, the settings ``env.py`` loads), which is exact. The summing is
copied here as it was written (``ctiserver.reports.model.levels``), so that this migration
means forever what it meant.

Revision ID: 0015_report_days2
Revises: 0014_return_visits
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

revision: str = "0015_report_days2"
down_revision: str | None = "0014_return_visits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl",
           "completed", "transfers")
_SECONDS = ("answer_wait", "abandon_wait", "talk", "answer_wait_max", "wait_max")
_STATES = ("ready", "ringing", "on_call", "wrap_up", "paused")


def _calls() -> list[sa.Column]:
    return [*(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
            *(sa.Column(name, sa.Float(), nullable=False) for name in _SECONDS)]


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        *_calls(),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _STATES),
        sa.PrimaryKeyConstraint("day", "queue", "agent", name=op.f("pk_report_days")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_report_days_agent_day", "report_days", ["agent", "day"])
    op.create_table(
        "report_queue_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        *_calls(),
        sa.PrimaryKeyConstraint("day", "queue", name=op.f("pk_report_queue_days")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_queue_hours",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        *_calls(),
        sa.PrimaryKeyConstraint("hour", "queue", name=op.f("pk_report_queue_hours")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_pause_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "agent", "reason", name=op.f("pk_report_pause_days")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_report_pause_days_agent_day", "report_pause_days", ["agent", "day"])
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_index("ix_call_surveys_at", "call_surveys", ["at"])
    _backfill()


_HOUR = 3600
_EPOCH_DAY = dt.date(1970, 1, 1)
_MAX = ("answer_wait_max", "wait_max")
#: the columns of the levels summed over agents (no agent states)
_QUEUE_LEVEL = (*_COUNTS, *_SECONDS)
_HOUR_COLUMNS = (*_COUNTS, *_SECONDS, *_STATES)


def _settings() -> Any:
    attributes = context.config.attributes
    return attributes.get("settings") or attributes["load_settings"]()


def _combine(into: dict[str, float], values: Mapping[str, float]) -> None:
    """Sums added, maxima kept as the greater."""
    for name, value in values.items():
        into[name] = max(into.get(name, 0.0), value) if name in _MAX else into.get(name, 0.0) + value


def _backfill() -> None:
    """The stored hourly rows summed into the new levels, each hour in the local day its
    start falls in (days numbered from 1970-01-01); the tables are new: plain inserts."""
    zone = ZoneInfo(_settings().hotline.timezone)
    day_of: dict[int, int] = {}

    def of_hour(hour: int) -> int:
        day = day_of.get(hour)
        if day is None:
            day = day_of[hour] = (dt.datetime.fromtimestamp(hour * _HOUR, zone).date() - _EPOCH_DAY).days
        return day

    bind = op.get_bind()
    days: dict[tuple[int, str, str], dict[str, float]] = {}
    queue_days: dict[tuple[int, str], dict[str, float]] = {}
    queue_hours: dict[tuple[int, str], dict[str, float]] = {}
    pause_days: dict[tuple[int, str, str], float] = {}
    hours = sa.table("report_hours", *(sa.column(n) for n in ("hour", "queue", "agent", *_HOUR_COLUMNS)))
    for row in bind.execute(sa.select(hours).execution_options(yield_per=20_000)):
        day = of_hour(row.hour)
        values = {n: float(getattr(row, n) or 0) for n in _HOUR_COLUMNS}
        _combine(days.setdefault((day, row.queue, row.agent), {}), values)
        if row.queue:
            calls = {n: values[n] for n in _QUEUE_LEVEL}
            _combine(queue_days.setdefault((day, row.queue), {}), calls)
            _combine(queue_hours.setdefault((row.hour, row.queue), {}), calls)
    pauses = sa.table("report_pauses", *(sa.column(n) for n in ("hour", "agent", "reason", "seconds")))
    for hour, agent, reason, seconds in bind.execute(sa.select(pauses)):
        key = (of_hour(hour), agent, reason)
        pause_days[key] = pause_days.get(key, 0.0) + float(seconds or 0)

    def values_of(values: Mapping[str, float]) -> dict[str, Any]:
        return {c: (int(v) if c in _COUNTS else v) for c, v in values.items()}

    def insert(name: str, keys: Sequence[str], rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
        if rows:
            bind.execute(sa.table(name, *(sa.column(n) for n in (*keys, *columns))).insert(), rows)

    insert("report_days", ("day", "queue", "agent"), [
        {"day": d, "queue": q, "agent": a, **values_of(v)} for (d, q, a), v in sorted(days.items())
    ], _HOUR_COLUMNS)
    insert("report_queue_days", ("day", "queue"), [
        {"day": d, "queue": q, **values_of(v)} for (d, q), v in sorted(queue_days.items())
    ], _QUEUE_LEVEL)
    insert("report_queue_hours", ("hour", "queue"), [
        {"hour": h, "queue": q, **values_of(v)} for (h, q), v in sorted(queue_hours.items())
    ], _QUEUE_LEVEL)
    insert("report_pause_days", ("day", "agent", "reason"), [
        {"day": d, "agent": a, "reason": r, "seconds": s} for (d, a, r), s in sorted(pause_days.items())
    ], ("seconds",))


def downgrade() -> None:
    op.drop_index("ix_call_surveys_at", table_name="call_surveys")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_report_pause_days_agent_day", table_name="report_pause_days")
    op.drop_table("report_pause_days")
    op.drop_table("report_queue_hours")
    op.drop_table("report_queue_days")
    op.drop_index("ix_report_days_agent_day", table_name="report_days")
    op.drop_table("report_days")
