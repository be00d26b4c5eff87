"""knowledge base: articles agents search while on a call

Revision ID: 0003_knowledge_base
Revises: 0002_ivr_tickets
Create Date: 2025-01-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_knowledge_base"
down_revision: str | None = "0002_ivr_tickets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("tags", sa.Text(), server_default="", nullable=False),
        sa.Column("reads", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("language IN ('zh', 'en')", name="ck_knowledge_articles_language"),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_articles"),
    )


def downgrade() -> None:
    op.drop_table("knowledge_articles")
