"""Callbacks asked for while waiting in a queue: the callbacks' source may be ``queue``
(the caller pressed the callback key and a placeholder keeps their place).

Revision ID: 0011_callbacks_place
Revises: 0010_report_days
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_callbacks_place"
down_revision: str | None = "0010_report_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_SOURCES = "source IN ('abandoned', 'requested', 'closed', 'no_agent')"
_NEW_SOURCES = "source IN ('abandoned', 'requested', 'closed', 'no_agent', 'queue')"

_callbacks = sa.table("callbacks", sa.column("source", sa.String(16)))


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint("ck_callbacks_source", type_="check")
        batch.create_check_constraint("ck_callbacks_source", sa.text(_NEW_SOURCES))


def downgrade() -> None:
    # a callback asked for in a queue was asked for: the older word for it
    op.get_bind().execute(sa.update(_callbacks).where(_callbacks.c.source == "queue").values(source="requested"))
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint("ck_callbacks_source", type_="check")
        batch.create_check_constraint("ck_callbacks_source", sa.text(_OLD_SOURCES))
