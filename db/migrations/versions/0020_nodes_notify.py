"""Wake-ups across nodes (issue 19 part 3): on PostgreSQL, triggers send a ``NOTIFY`` in the
transaction that writes ``ticket_events`` (channel ``ctiserver_ticket_events``) or a flow
version (``ctiserver_flow_versions``, payload the flow's name). PostgreSQL delivers a
notification only when its transaction commits, so another node is woken exactly when the
rows it will read are there; the rows stay the record (``ctiserver.storage.notify``).
On SQLite (one node) nothing is made.

Revision ID: 0020_nodes_notify
Revises: 0019_dialonce_leases
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_nodes_notify"
down_revision: str | None = "0019_dialonce_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UP = [
    # per statement: one wake-up per transaction is enough (PostgreSQL folds equal
    # notifications of one transaction into one anyway)
    """CREATE OR REPLACE FUNCTION ctiserver_notify_ticket_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('ctiserver_ticket_events', '');
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ctiserver_ticket_events_notify AFTER INSERT ON ticket_events
    FOR EACH STATEMENT EXECUTE FUNCTION ctiserver_notify_ticket_events()""",
    """CREATE OR REPLACE FUNCTION ctiserver_notify_flow_versions() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('ctiserver_flow_versions', NEW.flow);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ctiserver_flow_versions_notify AFTER INSERT ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION ctiserver_notify_flow_versions()""",
]

_DOWN = [
    "DROP TRIGGER IF EXISTS ctiserver_flow_versions_notify ON flow_versions",
    "DROP FUNCTION IF EXISTS ctiserver_notify_flow_versions()",
    "DROP TRIGGER IF EXISTS ctiserver_ticket_events_notify ON ticket_events",
    "DROP FUNCTION IF EXISTS ctiserver_notify_ticket_events()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _DOWN:
        op.execute(statement)
