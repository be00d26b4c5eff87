"""Call-center reports: hourly totals of the statistics records (``ctiserver.reports``),
backfilled from the records already stored.

The backfill is what ``ctiserver reports rebuild`` did when this was written (hourly rows
only), with the thresholds of the settings the server upgrades with (or, from the
``alembic`` command line, the settings ``env.py`` loads): the counting is copied here as
it was (``ctiserver.reports.model.buckets`` then), so that this migration means forever
what it meant; the totals are derived data that ``ctiserver reports rebuild`` can recount
at any time with the counting of the day.

Revision ID: 0010_report_days
Revises: 0009_customer_import
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010_report_days"
down_revision: str | None = "0009_customer_import"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl",
           "completed", "transfers")
_SECONDS = ("answer_wait", "abandon_wait", "talk", "answer_wait_max", "wait_max", "ready", "ringing",
            "on_call", "wrap_up", "paused")


def upgrade() -> None:
    op.create_table(
        "report_hours",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _SECONDS),
        sa.PrimaryKeyConstraint("hour", "queue", "agent", name=op.f("pk_report_hours")),
    )
    op.create_index("ix_report_hours_queue_hour", "report_hours", ["queue", "hour"])
    op.create_index("ix_report_hours_agent_hour", "report_hours", ["agent", "hour"])
    op.create_table(
        "report_pauses",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "agent", "reason", name=op.f("pk_report_pauses")),
    )
    op.create_index("ix_report_pauses_agent_hour", "report_pauses", ["agent", "hour"])
    _backfill()


_HOUR = 3600
#: queue names, interfaces and pause reasons were kept to this many characters
_NAME_LENGTH = 64


def _settings() -> Any:
    attributes = context.config.attributes
    return attributes.get("settings") or attributes["load_settings"]()


def _backfill() -> None:
    """Every stored statistics record counted into the hourly rows and the hourly pause
    seconds (the tables are new: plain inserts of the whole totals)."""
    settings = _settings()
    levels = {queue.name: queue.service_level for queue in settings.hotline.queues}
    rows: dict[tuple[int, str, str], dict[str, float]] = {}
    pauses: dict[tuple[int, str, str], float] = {}
    bind = op.get_bind()
    records = sa.table("stats_records", sa.column("id", sa.Integer), sa.column("data", sa.JSON))
    query = sa.select(records.c.data).order_by(records.c.id).execution_options(yield_per=20_000)
    for (data,) in bind.execute(query):
        _count(data, rows, pauses, levels, settings.reports.service_level, settings.reports.short_abandon_seconds)
    hours = sa.table("report_hours", *(sa.column(n) for n in ("hour", "queue", "agent", *_COUNTS, *_SECONDS)))
    pause_rows = sa.table("report_pauses", *(sa.column(n) for n in ("hour", "agent", "reason", "seconds")))
    if rows:
        bind.execute(hours.insert(), [
            {"hour": h, "queue": q, "agent": a, **{c: (int(v) if c in _COUNTS else v) for c, v in values.items()}}
            for (h, q, a), values in sorted(rows.items())
        ])
    if pauses:
        bind.execute(pause_rows.insert(), [
            {"hour": h, "agent": a, "reason": r, "seconds": s} for (h, a, r), s in sorted(pauses.items())
        ])


def _hours_of(start: float, end: float) -> Iterator[tuple[int, float]]:
    hour = int(start // _HOUR)
    while hour * _HOUR < end:
        seconds = min(end, (hour + 1) * _HOUR) - max(start, hour * _HOUR)
        if seconds > 0:
            yield hour, seconds
        hour += 1


def _count(
    record: Mapping[str, Any], rows: dict[tuple[int, str, str], dict[str, float]],
    pauses: dict[tuple[int, str, str], float], levels: Mapping[str, int], default_level: int, short: int,
) -> None:
    """One stored record (``record_to_dict``'s JSON) added to the hourly totals: a call counts
    in the hour it was offered, its talk in the hour it ended; intervals split by hour."""

    def row(at: float, queue: str, agent: str) -> dict[str, float]:
        key = (int(at // _HOUR), queue[:_NAME_LENGTH], agent[:_NAME_LENGTH])
        found = rows.get(key)
        if found is None:
            found = rows[key] = dict.fromkeys((*_COUNTS, *_SECONDS), 0.0)
        return found

    kind = record["kind"]
    if kind == "agent_state":
        if record["state"] != "logged_out":
            for hour, seconds in _hours_of(record["start"], record["end"]):
                row(hour * _HOUR, "", record["interface"])[record["state"]] += seconds
    elif kind == "pause":
        for hour, seconds in _hours_of(record["start"], record["end"]):
            key = (hour, record["interface"][:_NAME_LENGTH], (record.get("reason") or "")[:_NAME_LENGTH])
            pauses[key] = pauses.get(key, 0.0) + seconds
    elif kind == "offered":
        row(record["at"], record["queue"], "")["offered"] += 1
    elif kind == "answered":
        wait = record["wait_seconds"]
        found = row(record["offered_at"], record["queue"], record["interface"])
        found["answered"] += 1
        found["answer_wait"] += wait
        found["answer_wait_max"] = max(found["answer_wait_max"], wait)
        found["wait_max"] = max(found["wait_max"], wait)
        if wait <= levels.get(record["queue"], default_level):
            found["answered_in_sl"] += 1
    elif kind == "abandoned":
        wait = record["wait_seconds"]
        found = row(record["offered_at"], record["queue"], "")
        found["abandoned"] += 1
        found["abandon_wait"] += wait
        found["wait_max"] = max(found["wait_max"], wait)
        if wait < short:
            found["short_abandoned"] += 1
    elif kind == "unanswered":
        found = row(record["offered_at"], record["queue"], "")
        found["unanswered"] += 1
        found["wait_max"] = max(found["wait_max"], record["wait_seconds"])
    elif kind == "completed":
        found = row(record["at"], record["queue"], record["interface"])
        found["completed"] += 1
        found["talk"] += record["talk_seconds"]
        if record.get("reason") == "transfer":
            found["transfers"] += 1
    else:
        raise KeyError(kind)


def downgrade() -> None:
    op.drop_index("ix_report_pauses_agent_hour", table_name="report_pauses")
    op.drop_table("report_pauses")
    op.drop_index("ix_report_hours_agent_hour", table_name="report_hours")
    op.drop_index("ix_report_hours_queue_hour", table_name="report_hours")
    op.drop_table("report_hours")
