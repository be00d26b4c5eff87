"""One ticket-event feed (``ctiserver.tickets.feed``): ``feed_cursors`` holds every named
consumer's cursor into ``ticket_events``. The webhook endpoints' cursors
(``webhook_cursors``, as ``webhook:<endpoint>``) and the return visits' (``visit_cursors``
row ``completed``, as ``visits``) are carried over, so nothing is sent again or skipped, and
the two tables go.

Revision ID: 0017_feed_cursors
Revises: 0016_business_speed
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_feed_cursors"
down_revision: str | None = "0016_business_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the consumers' names, as the feed's consumers are named when this was written
WEBHOOK_PREFIX = "webhook:"
VISITS = "visits"
#: the visits' row in visit_cursors
VISITS_OLD = "completed"

_feed = sa.table(
    "feed_cursors", sa.column("name", sa.String(100)), sa.column("last_event_id", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_webhooks = sa.table(
    "webhook_cursors", sa.column("endpoint", sa.String(64)), sa.column("last_event_id", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_visits = sa.table("visit_cursors", sa.column("name", sa.String(32)), sa.column("last_event_id", sa.Integer()))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def upgrade() -> None:
    op.create_table(
        "feed_cursors",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_feed_cursors"),
    )
    bind = op.get_bind()
    rows = [
        {"name": WEBHOOK_PREFIX + endpoint, "last_event_id": last, "updated_at": updated or _now()}
        for endpoint, last, updated in bind.execute(sa.select(_webhooks.c.endpoint, _webhooks.c.last_event_id,
                                                              _webhooks.c.updated_at))
    ]
    visits = bind.execute(sa.select(_visits.c.last_event_id).where(_visits.c.name == VISITS_OLD)).scalar()
    if visits is not None:
        rows.append({"name": VISITS, "last_event_id": visits, "updated_at": _now()})
    if rows:
        bind.execute(sa.insert(_feed), rows)
    op.drop_table("webhook_cursors")
    op.drop_table("visit_cursors")


def downgrade() -> None:
    op.create_table(
        "visit_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_visit_cursors"),
    )
    op.create_table(
        "webhook_cursors",
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name="pk_webhook_cursors"),
    )
    bind = op.get_bind()
    found = list(bind.execute(sa.select(_feed.c.name, _feed.c.last_event_id, _feed.c.updated_at)))
    hooks = [
        {"endpoint": name[len(WEBHOOK_PREFIX):], "last_event_id": last, "updated_at": updated}
        for name, last, updated in found if name.startswith(WEBHOOK_PREFIX)
    ]
    if hooks:
        bind.execute(sa.insert(_webhooks), hooks)
    visits = [{"name": VISITS_OLD, "last_event_id": last} for name, last, _ in found if name == VISITS]
    if visits:
        bind.execute(sa.insert(_visits), visits)
    op.drop_table("feed_cursors")
