"""Tables of reports: hourly totals of the statistics records (``ctiserver.reports.model``),
kept up to date as records are stored and rebuilt by ``ctiserver reports rebuild``."""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.calls import CallRow
from ctiserver.ivr import CallSurvey
from ctiserver.storage.base import Base
from ctiserver.tickets import Ticket, TicketEvent
from ctiserver.visits import Visit


class _CallColumns:
    """The call totals every level keeps (sums, and maxima that add up by max)."""

    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    answered_in_sl: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    answer_wait: Mapped[float] = mapped_column(Float, default=0.0)
    abandon_wait: Mapped[float] = mapped_column(Float, default=0.0)
    talk: Mapped[float] = mapped_column(Float, default=0.0)
    answer_wait_max: Mapped[float] = mapped_column(Float, default=0.0)
    wait_max: Mapped[float] = mapped_column(Float, default=0.0)


class _AgentStateColumns:
    """Seconds agents spent in each state (the levels kept per agent)."""

    ready: Mapped[float] = mapped_column(Float, default=0.0)
    ringing: Mapped[float] = mapped_column(Float, default=0.0)
    on_call: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_up: Mapped[float] = mapped_column(Float, default=0.0)
    paused: Mapped[float] = mapped_column(Float, default=0.0)


class ReportHourRow(_CallColumns, _AgentStateColumns, Base):
    """The totals of one epoch hour (``hour * 3600``), queue and agent (``""``: none)."""

    __tablename__ = "report_hours"
    __table_args__ = (
        Index("ix_report_hours_queue_hour", "queue", "hour"),
        Index("ix_report_hours_agent_hour", "agent", "hour"),
    )

    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportPauseRow(Base):
    """Seconds an agent was paused with one reason (``""``: none given) in one epoch hour."""

    __tablename__ = "report_pauses"
    __table_args__ = (Index("ix_report_pauses_agent_hour", "agent", "hour"),)

    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


# ---- coarser levels (ctiserver.reports.model.levels), each a sum of hourly rows ------------
# On SQLite these are WITHOUT ROWID tables: the rows are stored in the primary key's order,
# the range column first, so a range of days is one contiguous read (a covering index).



class ReportDayRow(_CallColumns, _AgentStateColumns, Base):
    """The totals of one local day (days since 1970-01-01), queue and agent."""

    __tablename__ = "report_days"
    __table_args__ = (
        Index("ix_report_days_agent_day", "agent", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportQueueDayRow(_CallColumns, Base):
    """The call totals of one local day and queue, all agents summed."""

    __tablename__ = "report_queue_days"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportQueueHourRow(_CallColumns, Base):
    """The call totals of one epoch hour and queue, all agents summed (the heat map)."""

    __tablename__ = "report_queue_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)


class ReportPauseDayRow(Base):
    """Seconds an agent was paused with one reason in one local day."""

    __tablename__ = "report_pause_days"
    __table_args__ = (
        Index("ix_report_pause_days_agent_day", "agent", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


# ---- the business reports' ranges (ctiserver.reports.business) ------------------------------
# tickets created, and surveys answered, in a range of days: indexes on the range column

Index("ix_tickets_created_at", Ticket.__table__.c.created_at)
Index("ix_call_surveys_at", CallSurvey.__table__.c.at)
# the year's scans (docs/statistics.md, "Business figures"; bench/reports_business.py): the
# tickets' report columns beside their creation (a covering index: no row lookups), each
# ticket's completions and reopenings, a customer's calls in time order, visits by score time
Index("ix_tickets_created_report", Ticket.__table__.c.created_at, Ticket.__table__.c.type,
      Ticket.__table__.c.department, Ticket.__table__.c.status, Ticket.__table__.c.branch_id,
      Ticket.__table__.c.customer_id, Ticket.__table__.c.product_id)
Index("ix_ticket_events_ticket_kind_at", TicketEvent.__table__.c.ticket_id, TicketEvent.__table__.c.kind,
      TicketEvent.__table__.c.at)
Index("ix_calls_customer_started", CallRow.__table__.c.customer_id, CallRow.__table__.c.started_at)
Index("ix_visits_finished_at", Visit.__table__.c.finished_at)
