"""Return visits: ``visits`` (one per completion of a ticket: its ``completed`` event is
unique), ``visit_attempts`` (each call, claimed before it is dialled, with the ChannelId the
Originate carries) and ``visit_cursors`` (how far the visits have read ``ticket_events``).

The cursor starts at the newest event: tickets completed before this migration are not
owed a visit (the hotline did none then).

Revision ID: 0014_return_visits
Revises: 0013_webhooks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_return_visits"
down_revision: str | None = "0013_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('pending', 'calling', 'done', 'unreached', 'cancelled')"
_OUTCOMES = "outcome IN ('answered', 'no_answer', 'busy', 'failed', 'agent_missed', 'no_score')"
_MODES = "mode IN ('agent', 'auto')"
#: the feed's name in visit_cursors (ctiserver.visits.feed.CURSOR)
CURSOR = "completed"

_events = sa.table("ticket_events", sa.column("id", sa.Integer()))
_cursors = sa.table("visit_cursors", sa.column("name", sa.String(32)), sa.column("last_event_id", sa.Integer()))


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("completed_event_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("call_linkedid", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("complaint_ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_STATUSES, name="ck_visits_status"),
        sa.CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="ck_visits_score"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_visits_ticket_id_tickets",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_visits_customer_id_customers",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_visits_user_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["complaint_ticket_id"], ["tickets.id"],
                                name="fk_visits_complaint_ticket_id_tickets", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
        sa.UniqueConstraint("completed_event_id", name="uq_visits_completed_event_id"),
    )
    op.create_index("ix_visits_ticket_id", "visits", ["ticket_id"])
    op.create_index("ix_visits_customer_id", "visits", ["customer_id"])
    op.create_index("ix_visits_call_linkedid", "visits", ["call_linkedid"])
    op.create_index("ix_visits_status_next_at", "visits", ["status", "next_at"])
    op.create_table(
        "visit_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("server", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.CheckConstraint(_OUTCOMES, name="ck_visit_attempts_outcome"),
        sa.CheckConstraint(_MODES, name="ck_visit_attempts_mode"),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_visit_attempts_visit_id_visits",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_visit_attempts"),
        sa.UniqueConstraint("channel_id", name="uq_visit_attempts_channel_id"),
    )
    op.create_index("ix_visit_attempts_visit_id", "visit_attempts", ["visit_id"])
    op.create_table(
        "visit_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_visit_cursors"),
    )
    bind = op.get_bind()
    newest = bind.execute(sa.select(sa.func.max(_events.c.id))).scalar()
    bind.execute(sa.insert(_cursors).values(name=CURSOR, last_event_id=int(newest or 0)))


def downgrade() -> None:
    op.drop_table("visit_cursors")
    op.drop_index("ix_visit_attempts_visit_id", table_name="visit_attempts")
    op.drop_table("visit_attempts")
    for index in ("ix_visits_status_next_at", "ix_visits_call_linkedid", "ix_visits_customer_id",
                  "ix_visits_ticket_id"):
        op.drop_index(index, table_name="visits")
    op.drop_table("visits")
