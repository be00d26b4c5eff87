"""Call-center reports: hourly totals of the statistics records (``ctiserver.reports``),
backfilled from the records already stored.

The backfill is what ``ctiserver reports rebuild`` does, with the thresholds of the
settings the server upgrades with (or, from the ``alembic`` command line, the loaded
settings): it uses the reports' own counting (``ctiserver.reports.store``), since the
totals are derived data that ``ctiserver reports rebuild`` can recount at any time.

Revision ID: 0010_report_days
Revises: 0009_customer_import
"""

from __future__ import annotations

from collections.abc import Sequence

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


def _backfill() -> None:
    from ctiserver.reports.store import rebuild_sync, thresholds
    from ctiserver.settings import load_settings

    settings = context.config.attributes.get("settings") or load_settings()
    rebuild_sync(op.get_bind(), thresholds(settings), coarse=False)


def downgrade() -> None:
    op.drop_index("ix_report_pauses_agent_hour", table_name="report_pauses")
    op.drop_table("report_pauses")
    op.drop_index("ix_report_hours_agent_hour", table_name="report_hours")
    op.drop_index("ix_report_hours_queue_hour", table_name="report_hours")
    op.drop_table("report_hours")
