"""Service tickets to the end: the workflow's statuses and events, versions, dispatch to
departments and branches, the SLA's columns, staff users.

New tables: ``departments`` (seeded: repair, complaint, installation, support),
``branches`` (a province, or one of its cities; a manager), ``dispatch_rules`` (kind,
province, city -> department, branch; seeded with one rule per kind, the department
it went to before). Users may be ``staff`` of a department and a branch.

Existing tickets: ``open`` -> ``new``, ``assigned`` -> ``dispatched``, ``resolved`` ->
``completed`` (``resolved_at`` becomes ``completed_at``); version 1. Their events:
``status`` events take the kind of the status they moved to (``started``, ``completed``,
``closed``...), and every event gets the status it moved from.

Revision ID: 0012_ticket_workflow
Revises: 0011_callbacks_place
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012_ticket_workflow"
down_revision: str | None = "0011_callbacks_place"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_MAP = {"open": "new", "assigned": "dispatched", "resolved": "completed"}
_KIND_BY_STATUS = {
    "new": "created", "dispatched": "dispatched", "in_progress": "started", "completed": "completed",
    "closed": "closed", "cancelled": "cancelled",
}
_TYPES = "type IN ('repair', 'complaint', 'installation', 'moving', 'removal', 'inquiry')"
_OLD_TYPES = "type IN ('repair', 'complaint', 'installation', 'moving', 'inquiry')"
_STATUSES = (
    "status IN ('new', 'dispatched', 'scheduled', 'in_progress', 'waiting_customer', 'waiting_parts',"
    " 'completed', 'return_visit', 'closed', 'cancelled', 'reopened')"
)
_OLD_STATUSES = "status IN ('open', 'assigned', 'in_progress', 'resolved', 'closed', 'cancelled')"
_KINDS = (
    "kind IN ('created', 'dispatched', 'scheduled', 'started', 'waiting', 'resumed', 'completed',"
    " 'return_visit', 'closed', 'cancelled', 'reopened', 'note', 'assigned', 'escalated', 'breached',"
    " 'fields')"
)
_OLD_KINDS = "kind IN ('created', 'status', 'note', 'assigned')"
_ROLES = "role IN ('agent', 'supervisor', 'admin', 'staff')"
_OLD_ROLES = "role IN ('agent', 'supervisor', 'admin')"
DEPARTMENTS = [
    {"code": "repair", "name": "维修部"},
    {"code": "complaint", "name": "投诉处理部"},
    {"code": "installation", "name": "安装部"},
    {"code": "support", "name": "客服部"},
]
#: kind -> department, as vocabulary.DEPARTMENT_BY_TYPE had it
RULES = [
    {"kind": "repair", "department": "repair"},
    {"kind": "complaint", "department": "complaint"},
    {"kind": "installation", "department": "installation"},
    {"kind": "moving", "department": "installation"},
    {"kind": "removal", "department": "installation"},
    {"kind": "inquiry", "department": "support"},
]

_tickets = sa.table("tickets", sa.column("status", sa.String(16)))
_events = sa.table(
    "ticket_events",
    sa.column("id", sa.Integer()),
    sa.column("ticket_id", sa.Integer()),
    sa.column("kind", sa.String(16)),
    sa.column("status", sa.String(16)),
    sa.column("from_status", sa.String(16)),
)


def _when(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _create_dispatch_tables() -> None:
    departments = op.create_table(
        "departments",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_departments"),
    )
    op.create_table(
        "branches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("province", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("manager_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["manager_user_id"], ["users.id"], name="fk_branches_manager_user_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_branches"),
    )
    op.create_index("ix_branches_province", "branches", ["province"])
    rules = op.create_table(
        "dispatch_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("province", sa.String(64), nullable=True),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["department"], ["departments.code"],
                                name="fk_dispatch_rules_department_departments", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name="fk_dispatch_rules_branch_id_branches",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_dispatch_rules"),
    )
    op.bulk_insert(departments, DEPARTMENTS)
    op.bulk_insert(rules, RULES)


def _migrate_events() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_events.c.id, _events.c.ticket_id, _events.c.kind, _events.c.status)
        .order_by(_events.c.ticket_id, _events.c.id)
    ).all()
    updates = []
    previous: dict[int, str | None] = {}
    for event_id, ticket_id, kind, status in rows:
        status = _STATUS_MAP.get(status, status)
        if kind == "status":
            kind = "started" if status == "in_progress" and previous.get(ticket_id) == "completed" else (
                _KIND_BY_STATUS.get(status, "note"))
        updates.append({"event_id": event_id, "new_kind": kind, "new_status": status,
                        "old_status": previous.get(ticket_id)})
        previous[ticket_id] = status
    if updates:
        bind.execute(
            sa.update(_events).where(_events.c.id == sa.bindparam("event_id")).values(
                kind=sa.bindparam("new_kind"), status=sa.bindparam("new_status"),
                from_status=sa.bindparam("old_status"),
            ),
            updates,
        )


def upgrade() -> None:
    _create_dispatch_tables()
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.add_column(sa.Column("department", sa.String(32), nullable=True))
        batch.add_column(sa.Column("branch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_users_branch_id_branches", "branches", ["branch_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_check_constraint("ck_users_role", sa.text(_ROLES))
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("ck_tickets_status", type_="check")
        batch.drop_constraint("ck_tickets_type", type_="check")
        batch.alter_column("resolved_at", new_column_name="completed_at",
                           existing_type=sa.DateTime(timezone=True), existing_nullable=True)
        batch.alter_column("status", server_default="new", existing_type=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("branch_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("engineer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("urgency", sa.String(8), server_default="normal", nullable=False))
        for name in ("appointment_start", "appointment_end", "responded_at", "closed_at", "due_at", "breached_at"):
            batch.add_column(_when(name))
        batch.add_column(sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False))
        batch.create_foreign_key("fk_tickets_branch_id_branches", "branches", ["branch_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_foreign_key("fk_tickets_engineer_id_users", "users", ["engineer_id"], ["id"],
                                 ondelete="SET NULL")
    for old, new in _STATUS_MAP.items():
        op.execute(sa.update(_tickets).where(_tickets.c.status == old).values(status=new))
    with op.batch_alter_table("tickets") as batch:
        batch.create_check_constraint("ck_tickets_status", sa.text(_STATUSES))
        batch.create_check_constraint("ck_tickets_type", sa.text(_TYPES))
        batch.create_check_constraint("ck_tickets_urgency", sa.text("urgency IN ('normal', 'urgent')"))
    for column in ("status", "branch_id", "engineer_id", "due_at"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("ck_ticket_events_kind", type_="check")
        batch.add_column(sa.Column("from_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(64), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    _migrate_events()
    op.execute(sa.text("UPDATE ticket_events SET payload = '{}' WHERE payload IS NULL"))
    with op.batch_alter_table("ticket_events") as batch:
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.create_check_constraint("ck_ticket_events_kind", sa.text(_KINDS))
    op.create_index("ix_ticket_events_kind", "ticket_events", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_kind", table_name="ticket_events")
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("ck_ticket_events_kind", type_="check")
        batch.drop_column("payload")
        batch.drop_column("actor")
        batch.drop_column("from_status")
    op.execute(sa.text("UPDATE ticket_events SET kind = 'status' WHERE kind NOT IN ('created', 'note', 'assigned')"))
    with op.batch_alter_table("ticket_events") as batch:
        batch.create_check_constraint("ck_ticket_events_kind", sa.text(_OLD_KINDS))
    for column in ("status", "branch_id", "engineer_id", "due_at"):
        op.drop_index(f"ix_tickets_{column}", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for name in ("ck_tickets_status", "ck_tickets_type", "ck_tickets_urgency"):
            batch.drop_constraint(name, type_="check")
        batch.drop_constraint("fk_tickets_branch_id_branches", type_="foreignkey")
        batch.drop_constraint("fk_tickets_engineer_id_users", type_="foreignkey")
        for name in ("version", "branch_id", "engineer_id", "urgency", "appointment_start", "appointment_end",
                     "responded_at", "closed_at", "due_at", "breached_at", "escalation_level"):
            batch.drop_column(name)
        batch.alter_column("completed_at", new_column_name="resolved_at",
                           existing_type=sa.DateTime(timezone=True), existing_nullable=True)
    back = {"new": "open", "dispatched": "assigned", "scheduled": "assigned", "completed": "resolved",
            "return_visit": "resolved", "reopened": "open", "waiting_customer": "in_progress",
            "waiting_parts": "in_progress"}
    for new, old in back.items():
        op.execute(sa.update(_tickets).where(_tickets.c.status == new).values(status=old))
    op.execute(sa.text("DELETE FROM tickets WHERE type = 'removal'"))
    with op.batch_alter_table("tickets") as batch:
        batch.create_check_constraint("ck_tickets_status", sa.text(_OLD_STATUSES))
        batch.create_check_constraint("ck_tickets_type", sa.text(_OLD_TYPES))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.drop_constraint("fk_users_branch_id_branches", type_="foreignkey")
        batch.drop_column("branch_id")
        batch.drop_column("department")
    op.execute(sa.text("DELETE FROM users WHERE role = 'staff'"))
    with op.batch_alter_table("users") as batch:
        batch.create_check_constraint("ck_users_role", sa.text(_OLD_ROLES))
    op.drop_table("dispatch_rules")
    op.drop_index("ix_branches_province", table_name="branches")
    op.drop_table("branches")
    op.drop_table("departments")
