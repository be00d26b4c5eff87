"""Business reports over a year (ctiserver.reports.business): a covering index of the
tickets' report columns beside their creation, each ticket's events by kind and time, a
customer's calls in time order, and the return visits by the time they were scored.

Revision ID: 0016_business_speed
Revises: 0015_report_days2
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_business_speed"
down_revision: str | None = "0015_report_days2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_created_report", "tickets",
                    ["created_at", "type", "department", "status", "branch_id", "customer_id", "product_id"])
    op.create_index("ix_ticket_events_ticket_kind_at", "ticket_events", ["ticket_id", "kind", "at"])
    op.create_index("ix_calls_customer_started", "calls", ["customer_id", "started_at"])
    op.create_index("ix_visits_finished_at", "visits", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_visits_finished_at", table_name="visits")
    op.drop_index("ix_calls_customer_started", table_name="calls")
    op.drop_index("ix_ticket_events_ticket_kind_at", table_name="ticket_events")
    op.drop_index("ix_tickets_created_report", table_name="tickets")
