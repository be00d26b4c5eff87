"""IVR storage: tickets and their events, callbacks, voicemails, flow versions, runs, surveys

Revision ID: 0002_ivr_tickets
Revises: 0001_initial
Create Date: 2025-01-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ivr_tickets"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("call_linkedid", sa.String(64), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("resolved_at", nullable=True),
        sa.CheckConstraint(
            "type IN ('repair', 'complaint', 'installation', 'moving', 'inquiry')",
            name="ck_tickets_type",
        ),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'in_progress', 'resolved', 'closed', 'cancelled')",
            name="ck_tickets_status",
        ),
        sa.CheckConstraint("source IN ('ivr', 'agent')", name="ck_tickets_source"),
        _fk("tickets", "customer_id", "customers", "SET NULL"),
        _fk("tickets", "product_id", "products", "SET NULL"),
        _fk("tickets", "created_by_user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("number", name="uq_tickets_number"),
    )
    op.create_index("ix_tickets_department", "tickets", ["department"])
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])
    op.create_index("ix_tickets_call_linkedid", "tickets", ["call_linkedid"])

    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_ticket_counters"),
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('created', 'status', 'note', 'assigned')", name="ck_ticket_events_kind"
        ),
        _fk("ticket_events", "ticket_id", "tickets", "CASCADE"),
        _fk("ticket_events", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_events"),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("call_linkedid", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        _when("requested_at"),
        _when("due_at"),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _when("last_attempt_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'done', 'failed', 'cancelled')",
            name="ck_callbacks_status",
        ),
        _fk("callbacks", "customer_id", "customers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
    )
    op.create_index("ix_callbacks_customer_id", "callbacks", ["customer_id"])
    op.create_index("ix_callbacks_call_linkedid", "callbacks", ["call_linkedid"])
    op.create_index("ix_callbacks_due_at", "callbacks", ["due_at"])

    op.create_table(
        "voicemails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_linkedid", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        _when("created_at"),
        _when("listened_at", nullable=True),
        _fk("voicemails", "customer_id", "customers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_voicemails"),
    )
    op.create_index("ix_voicemails_call_linkedid", "voicemails", ["call_linkedid"])
    op.create_index("ix_voicemails_customer_id", "voicemails", ["customer_id"])

    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        _when("created_at"),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_versions"),
        sa.UniqueConstraint("flow", "number", name="uq_flow_versions_flow_number"),
    )

    op.create_table(
        "ivr_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.String(64), nullable=False),
        sa.Column("flow_version_number", sa.Integer(), nullable=False),
        _when("started_at"),
        _when("ended_at"),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("ended_by_hangup", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ivr_runs"),
    )
    op.create_index("ix_ivr_runs_call_linkedid", "ivr_runs", ["call_linkedid"])

    op.create_table(
        "call_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_linkedid", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        _when("at"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_call_surveys_score"),
        sa.PrimaryKeyConstraint("id", name="pk_call_surveys"),
    )
    op.create_index("ix_call_surveys_call_linkedid", "call_surveys", ["call_linkedid"])


def downgrade() -> None:
    op.drop_table("call_surveys")
    op.drop_table("ivr_runs")
    op.drop_table("flow_versions")
    op.drop_table("voicemails")
    op.drop_table("callbacks")
    op.drop_table("ticket_events")
    op.drop_table("ticket_counters")
    op.drop_table("tickets")
