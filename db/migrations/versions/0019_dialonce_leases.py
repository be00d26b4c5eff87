"""Outbound attempts followed by any live server: the dialling servers' leases, and the
attempts in flight (ended_at null) found by index.

Revision ID: 0019_dialonce_leases
Revises: 0018_websec_sessions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dialonce_leases"
down_revision: str | None = "0018_websec_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialler_leases",
        sa.Column("server", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callback_attempts_ended_at", "callback_attempts", ["ended_at"])
    op.create_index("ix_visit_attempts_ended_at", "visit_attempts", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_visit_attempts_ended_at", table_name="visit_attempts")
    op.drop_index("ix_callback_attempts_ended_at", table_name="callback_attempts")
    op.drop_table("dialler_leases")
