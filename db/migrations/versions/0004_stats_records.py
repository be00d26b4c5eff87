"""Statistics records: the one event log that live and historical figures are computed from.

Revision ID: 0004_stats_records
Revises: 0003_knowledge_base
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_stats_records"
down_revision: str | None = "0003_knowledge_base"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stats_records"),
    )
    op.create_index("ix_stats_records_at", "stats_records", ["at"])


def downgrade() -> None:
    op.drop_index("ix_stats_records_at", table_name="stats_records")
    op.drop_table("stats_records")
