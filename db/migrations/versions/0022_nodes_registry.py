"""The nodes on one database (issue 19 parts 6 and 7): each node's row with its heartbeat
(who is up, shown to supervisors) and a digest of its session secret (a node whose secret
differs from the nodes' up refuses to start). See ``ctiserver.storage.nodes``.

Revision ID: 0022_nodes_registry
Revises: 0021_progress_event_kinds
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_nodes_registry"
down_revision: str | None = "0021_progress_event_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("web", sa.String(256), nullable=False),
        sa.Column("agi", sa.String(256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_digest", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_nodes")
