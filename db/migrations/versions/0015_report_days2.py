"""Call-center reports: the coarser levels of the hourly totals (``ctiserver.reports.model.levels``):
per local day, queue and agent; per local day and queue; per hour and queue; pause seconds
per local day, agent and reason; and the business reports' range indexes (tickets'
creation, surveys' answer). On SQLite they are WITHOUT ROWID tables (rows in the
primary key's order, the range column first); backfilled by summing the stored hourly
rows in the hotline's time zone (of the settings the server upgrades with, or, from the
``alembic`` command line, the loaded settings), which is exact.

Revision ID: 0015_report_days2
Revises: 0014_return_visits
"""

from __future__ import annotations

from collections.abc import Sequence

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


def _backfill() -> None:
    from ctiserver.reports.store import coarse_from_hours_sync
    from ctiserver.settings import load_settings

    settings = context.config.attributes.get("settings") or load_settings()
    coarse_from_hours_sync(op.get_bind(), settings.hotline.timezone)


def downgrade() -> None:
    op.drop_index("ix_call_surveys_at", table_name="call_surveys")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_report_pause_days_agent_day", table_name="report_pause_days")
    op.drop_table("report_pause_days")
    op.drop_table("report_queue_hours")
    op.drop_table("report_queue_days")
    op.drop_index("ix_report_days_agent_day", table_name="report_days")
    op.drop_table("report_days")
