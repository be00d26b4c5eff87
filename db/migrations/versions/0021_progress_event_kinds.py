"""The customer's answer to an appointment as ticket events (issue 23 part 1): ``confirmed``
(they keep it) and ``time_requested`` (they ask for another time, for the branch's staff to
arrange), recorded by the IVR's ``progress`` node. Only the kinds' check constraint changes.

Revision ID: 0021_progress_event_kinds
Revises: 0020_nodes_notify
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_progress_event_kinds"
down_revision: str | None = "0020_nodes_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = (
    "'created', 'dispatched', 'scheduled', 'started', 'waiting', 'resumed', 'completed',"
    " 'return_visit', 'closed', 'cancelled', 'reopened', 'note', 'assigned', 'escalated', 'breached',"
    " 'fields'"
)
_KINDS = f"kind IN ({_BEFORE}, 'confirmed', 'time_requested')"
_OLD_KINDS = f"kind IN ({_BEFORE})"


def _constraint(kinds: str) -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("ck_ticket_events_kind", type_="check")
    with op.batch_alter_table("ticket_events") as batch:
        batch.create_check_constraint("ck_ticket_events_kind", sa.text(kinds))


def upgrade() -> None:
    _constraint(_KINDS)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM ticket_events WHERE kind IN ('confirmed', 'time_requested')"))
    _constraint(_OLD_KINDS)
