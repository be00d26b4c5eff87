"""Call recordings' index (``ctiserver.recordings``).

Revision ID: 0008_recordings
Revises: 0007_callbacks
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_recordings"
down_revision: str | None = "0007_callbacks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("leg_uniqueid", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("caller_name", sa.String(255), nullable=True),
        sa.Column("agent", sa.String(32), nullable=True),
        sa.Column("agent_interface", sa.String(128), nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("flag", sa.String(16), nullable=True),
        sa.Column("gaps", sa.JSON(), nullable=True),
        sa.Column("hold", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
    )
    op.create_index("ix_recordings_call_id", "recordings", ["call_id"])
    op.create_index("ix_recordings_caller_number", "recordings", ["caller_number"])
    op.create_index("ix_recordings_agent", "recordings", ["agent"])
    op.create_index("ix_recordings_customer_id", "recordings", ["customer_id"])
    op.create_index("ix_recordings_started_at", "recordings", ["started_at"])


def downgrade() -> None:
    for column in ("started_at", "customer_id", "agent", "caller_number", "call_id"):
        op.drop_index(f"ix_recordings_{column}", table_name="recordings")
    op.drop_table("recordings")
