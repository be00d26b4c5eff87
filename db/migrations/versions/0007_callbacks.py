"""Callback tasks: the callbacks table becomes the missed-call task (source, queue, number
key for deduplication, misses, wait, IVR choices, VIP, expiry, outcome) every attempt
is a row of callback_attempts, claimed before anything is dialled, and every missed call
folded into a task a row of callback_misses (one per call: reporting it again is a no-op).

Existing rows (callback requests left in the IVR; nothing ever dialled them) keep their
number, customer, call, reason and times: ``requested_at`` becomes ``missed_at``, their
source is ``requested``, their number key is computed here (digits, as
``ctiserver.customers.phones.normalize_phone`` gives them for the common forms), they
expire 48 hours after the miss; statuses map ``in_progress`` -> ``pending`` (nothing was
dialling them), ``done`` -> ``connected``.

Revision ID: 0007_callbacks
Revises: 0006_audit_events
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_callbacks"
down_revision: str | None = "0006_audit_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "status IN ('pending', 'in_progress', 'done', 'failed', 'cancelled')"
_NEW_STATUSES = "status IN ('pending', 'dialing', 'connected', 'failed', 'cancelled', 'expired')"
_SOURCES = "source IN ('abandoned', 'requested', 'closed', 'no_agent')"
_OUTCOMES = "outcome IN ('connected', 'no_answer', 'busy', 'failed', 'agent_missed')"
_MOBILE = re.compile(r"1[3-9]\d{9}")

_callbacks = sa.table(
    "callbacks",
    sa.column("id", sa.Integer()),
    sa.column("number", sa.String(64)),
    sa.column("number_key", sa.String(64)),
    sa.column("status", sa.String(16)),
    sa.column("missed_at", sa.DateTime(timezone=True)),
    sa.column("expires_at", sa.DateTime(timezone=True)),
)


def _key(number: str) -> str:
    raw = number.strip()
    digits = re.sub(r"\D", "", raw)
    for prefix in ("0086", "86", "0"):
        if digits.startswith(prefix) and _MOBILE.fullmatch(digits[len(prefix):]):
            return digits[len(prefix):]
    if raw.startswith("+86"):
        rest = digits[2:].lstrip("0")
        return rest if _MOBILE.fullmatch(rest) else "0" + rest
    return digits or raw


def _fill() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_callbacks.c.id, _callbacks.c.number, _callbacks.c.missed_at)).all()
    values: list[dict[str, Any]] = []
    for row_id, number, missed_at in rows:
        if isinstance(missed_at, str):  # SQLite without the column's type
            missed_at = dt.datetime.fromisoformat(missed_at)
        values.append({"row_id": row_id, "new_key": _key(number), "expiry": missed_at + dt.timedelta(hours=48)})
    if values:
        bind.execute(
            sa.update(_callbacks)
            .where(_callbacks.c.id == sa.bindparam("row_id"))
            .values(number_key=sa.bindparam("new_key"), expires_at=sa.bindparam("expiry")),
            values,
        )
    bind.execute(sa.update(_callbacks).where(_callbacks.c.status == "in_progress").values(status="pending"))
    bind.execute(sa.update(_callbacks).where(_callbacks.c.status == "done").values(status="connected"))


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint("ck_callbacks_status", type_="check")
        batch.alter_column("requested_at", new_column_name="missed_at",
                           existing_type=sa.DateTime(timezone=True), existing_nullable=False)
        batch.add_column(sa.Column("number_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("queue", sa.String(64), nullable=True))
        batch.add_column(sa.Column("source", sa.String(16), server_default="requested", nullable=False))
        batch.add_column(sa.Column("last_missed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("misses", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("wait_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("choices", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("vip", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("agent", sa.String(64), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    _fill()
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("number_key", existing_type=sa.String(64), nullable=False)
        batch.create_check_constraint("ck_callbacks_status", sa.text(_NEW_STATUSES))
        batch.create_check_constraint("ck_callbacks_source", sa.text(_SOURCES))
        batch.create_index("ix_callbacks_number_key", ["number_key"])
        batch.create_index("ix_callbacks_status_due_at", ["status", "due_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("server", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.CheckConstraint(_OUTCOMES, name="ck_callback_attempts_outcome"),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"],
                                name="fk_callback_attempts_callback_id_callbacks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_callback_attempts"),
        sa.UniqueConstraint("channel_id", name="uq_callback_attempts_channel_id"),
    )
    op.create_index("ix_callback_attempts_callback_id", "callback_attempts", ["callback_id"])
    op.create_table(
        "callback_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"],
                                name="fk_callback_misses_callback_id_callbacks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_callback_misses"),
        sa.UniqueConstraint("linkedid", name="uq_callback_misses_linkedid"),
    )
    op.create_index("ix_callback_misses_callback_id", "callback_misses", ["callback_id"])


def downgrade() -> None:
    op.drop_index("ix_callback_misses_callback_id", table_name="callback_misses")
    op.drop_table("callback_misses")
    op.drop_index("ix_callback_attempts_callback_id", table_name="callback_attempts")
    op.drop_table("callback_attempts")
    bind = op.get_bind()
    bind.execute(sa.update(_callbacks).where(_callbacks.c.status == "dialing").values(status="in_progress"))
    bind.execute(sa.update(_callbacks).where(_callbacks.c.status == "connected").values(status="done"))
    bind.execute(sa.update(_callbacks).where(_callbacks.c.status == "expired").values(status="cancelled"))
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_index("ix_callbacks_status_due_at")
        batch.drop_index("ix_callbacks_number_key")
        batch.drop_constraint("ck_callbacks_source", type_="check")
        batch.drop_constraint("ck_callbacks_status", type_="check")
        for name in ("finished_at", "agent", "outcome", "expires_at", "vip", "choices", "wait_seconds",
                     "misses", "last_missed_at", "source", "queue", "number_key"):
            batch.drop_column(name)
        batch.alter_column("missed_at", new_column_name="requested_at",
                           existing_type=sa.DateTime(timezone=True), existing_nullable=False)
    with op.batch_alter_table("callbacks") as batch:
        batch.create_check_constraint("ck_callbacks_status", sa.text(_OLD_STATUSES))
