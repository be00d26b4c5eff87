"""SMS notices (issue 23 part 3): ``sms_notices`` (the outbox: one row per notice a ticket
event owes, its key unique, with its delivery state), ``sms_optouts`` (customers who asked for
no SMS), ``sms_engineer_phones`` (where an engineer's task notices go) and ``sms_inbound``
(inbound SMS taken, their provider's message id unique); a ticket's ``source`` may be ``sms``
(opened by an inbound SMS).

Revision ID: 0023_sms_notices
Revises: 0022_nodes_registry
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_sms_notices"
down_revision: str | None = "0022_nodes_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = "state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'opted_out', 'no_phone')"


def _sources(sources: str) -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("ck_tickets_source", type_="check")
    with op.batch_alter_table("tickets") as batch:
        batch.create_check_constraint("ck_tickets_source", sa.text(f"source IN ({sources})"))


def upgrade() -> None:
    _sources("'ivr', 'agent', 'sms'")
    op.create_table(
        "sms_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("template_code", sa.String(64), server_default="", nullable=False),
        sa.Column("params", sa.Text(), server_default="{}", nullable=False),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(_STATES, name="ck_sms_notices_state"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_sms_notices_ticket_id_tickets",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_sms_notices"),
        sa.UniqueConstraint("key", name="uq_sms_notices_key"),
    )
    op.create_index("ix_sms_notices_ticket_id", "sms_notices", ["ticket_id"])
    op.create_index("ix_sms_notices_state_due_at", "sms_notices", ["state", "due_at"])
    op.create_table(
        "sms_optouts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_sms_optouts_customer_id_customers",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sms_optouts_user_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_sms_optouts"),
    )
    op.create_table(
        "sms_engineer_phones",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sms_engineer_phones_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_sms_engineer_phones"),
    )
    op.create_table(
        "sms_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_sms_inbound_customer_id_customers",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_sms_inbound_ticket_id_tickets",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sms_inbound"),
        sa.UniqueConstraint("message_id", name="uq_sms_inbound_message_id"),
    )


def downgrade() -> None:
    op.drop_table("sms_inbound")
    op.drop_table("sms_engineer_phones")
    op.drop_table("sms_optouts")
    op.drop_index("ix_sms_notices_state_due_at", table_name="sms_notices")
    op.drop_index("ix_sms_notices_ticket_id", table_name="sms_notices")
    op.drop_table("sms_notices")
    op.execute(sa.text("UPDATE tickets SET source = 'agent' WHERE source = 'sms'"))
    _sources("'ivr', 'agent'")
