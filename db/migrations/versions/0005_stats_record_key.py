"""Statistics records get a unique key (a hash of the record), so that storing one again
(a retried batch, a journal replayed after a crash) is a no-op.

Existing rows get the key ``ctiserver.stats.store.record_key`` gives (computed here,
not imported: a migration keeps meaning what it meant); of rows with the same key,
the first stored stays.

Revision ID: 0005_stats_record_key
Revises: 0004_stats_records
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_stats_record_key"
down_revision: str | None = "0004_stats_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_records = sa.table(
    "stats_records",
    sa.column("id", sa.Integer()),
    sa.column("key", sa.String(32)),
    sa.column("data", sa.JSON()),
)


def _key(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _fill_keys() -> None:
    bind = op.get_bind()
    seen: set[str] = set()
    doubles: list[int] = []
    keys: list[dict[str, Any]] = []
    for row_id, data in bind.execute(sa.select(_records.c.id, _records.c.data).order_by(_records.c.id)):
        key = _key(data)
        if key in seen:
            doubles.append(row_id)
        else:
            seen.add(key)
            keys.append({"row_id": row_id, "new_key": key})
    if doubles:
        bind.execute(sa.delete(_records).where(_records.c.id.in_(doubles)))
    if keys:
        bind.execute(
            sa.update(_records)
            .where(_records.c.id == sa.bindparam("row_id"))
            .values(key=sa.bindparam("new_key")),
            keys,
        )


def upgrade() -> None:
    with op.batch_alter_table("stats_records") as batch:
        batch.add_column(sa.Column("key", sa.String(32), nullable=True))
    _fill_keys()
    with op.batch_alter_table("stats_records") as batch:
        batch.alter_column("key", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_stats_records_key", ["key"])


def downgrade() -> None:
    with op.batch_alter_table("stats_records") as batch:
        batch.drop_constraint("uq_stats_records_key", type_="unique")
        batch.drop_column("key")
