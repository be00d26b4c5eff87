"""Customers, tickets and calls as CSV (UTF-8 with a BOM: Excel then reads Chinese text)
or as an Excel workbook (``workbooks``), times in the hotline's local time, every cell
defused against formulas, streamed a part at a time so a large table never sits in memory.

The customers' file has the import's columns (one row per product, the phones in one
cell), so an exported file imported again adds nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ctiserver.calls import CallRow
from ctiserver.customers import Customer, CustomerPhone, Product
from ctiserver.spreadsheets.kinds import EXPORTS
from ctiserver.spreadsheets.labels import cell_words, column_labels
from ctiserver.spreadsheets.model import csv_text
from ctiserver.spreadsheets.workbooks import SheetWriter
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket

BOM = "\ufeff"
PART = 500

CUSTOMER_COLUMNS = (
    "customer_id", "name", "phone", "province", "city", "district", "street", "address_detail", "level",
    "category", "model", "serial", "installed_on", "created_at",
)
TICKET_COLUMNS = (
    "number", "type", "status", "urgency", "department", "branch_id", "summary", "customer_id", "customer",
    "product_serial", "call_id", "source", "created_at", "updated_at", "due_at", "responded_at",
    "completed_at", "closed_at", "escalation_level",
)
CALL_COLUMNS = (
    "call_id", "caller_number", "caller_name", "customer_id", "queue", "agent", "started_at",
    "answered_at", "ended_at", "wait_seconds", "duration_seconds", "hangup_cause",
)


@dataclass(frozen=True)
class ExportRange:
    """Local days, both included; None: unbounded."""

    first: dt.date | None = None
    last: dt.date | None = None

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
        start = None if self.first is None else dt.datetime.combine(self.first, dt.time(), zone)
        end = None if self.last is None else dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), zone)
        return start, end


@dataclass(frozen=True)
class ExportHead:
    """The file's first row: the columns named in ``lang`` (``labels``, the cells' codes said
    in ``lang`` too), or their ``codes`` (the stable form for integrations, cells as stored)."""

    form: str = "labels"
    lang: str = "zh"


CODES = ExportHead("codes")


class CsvExports:
    def __init__(self, db: Database, timezone: str) -> None:
        self._db = db
        self._zone = ZoneInfo(timezone)

    def rows(
        self, what: str, period: ExportRange = ExportRange(), head: ExportHead = CODES
    ) -> AsyncIterator[Sequence[Sequence[object]]]:
        """The table's rows, a part at a time (the header first); ValueError for an unknown export."""
        makers: dict[str, Callable[[ExportRange], AsyncIterator[Sequence[Sequence[object]]]]] = {
            "customers": self._customers, "tickets": self._tickets, "calls": self._calls,
        }
        if what not in makers:
            raise ValueError(f"export must be one of {', '.join(EXPORTS)}")
        parts = makers[what](period)
        return parts if head.form == "codes" else _said(what, parts, head.lang)

    def stream(
        self, what: str, period: ExportRange = ExportRange(), head: ExportHead = CODES
    ) -> AsyncIterator[bytes]:
        """The CSV file's bytes (UTF-8 with a BOM, for Excel), a part at a time; ValueError
        for an unknown export."""
        return _csv_parts(self.rows(what, period, head))

    async def write_xlsx(
        self, what: str, target: str | IO[bytes], period: ExportRange = ExportRange(),
        head: ExportHead = CODES,
    ) -> int:
        """The table written as a workbook (write-only: bounded memory) to ``target``; its rows."""
        writer = SheetWriter(what)
        count = -1
        async for part in self.rows(what, period, head):
            await asyncio.to_thread(writer.append, part)
            count += len(part)
        await asyncio.to_thread(writer.save, target)
        return count

    def _time(self, value: dt.datetime | None) -> str:
        return "" if value is None else value.astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S")

    def _within(self, query: Any, column: Any, period: ExportRange) -> Any:
        start, end = period.bounds(self._zone)
        if start is not None:
            query = query.where(column >= start)
        if end is not None:
            query = query.where(column < end)
        return query

    async def _parts(self, query: Any) -> AsyncIterator[Sequence[Any]]:
        async with self._db.session() as session:
            result = await session.stream(query.execution_options(yield_per=PART))
            async for part in result.partitions(PART):
                yield part

    async def _customers(self, period: ExportRange) -> AsyncIterator[Sequence[Sequence[object]]]:
        yield [CUSTOMER_COLUMNS]
        query = self._within(
            select(Customer, Product).outerjoin(Product, Product.customer_id == Customer.id)
            .order_by(Customer.id, Product.id),
            Customer.created_at, period,
        )
        async for part in self._parts(query):
            ids = sorted({row[0].id for row in part})
            phones: defaultdict[int, list[str]] = defaultdict(list)
            async with self._db.engine.connect() as conn:
                found = await conn.execute(
                    select(CustomerPhone.customer_id, CustomerPhone.number)
                    .where(CustomerPhone.customer_id.in_(ids)).order_by(CustomerPhone.id)
                )
                for customer_id, number in found:
                    phones[customer_id].append(number)
            lines = []
            for customer, product in part:
                lines.append((
                    customer.id, customer.name, "; ".join(phones[customer.id]), customer.province,
                    customer.city, customer.district, customer.street, customer.address_detail,
                    customer.level, product and product.category, product and product.model,
                    product and product.serial, product and product.installed_on,
                    self._time(customer.created_at),
                ))
            yield lines

    async def _tickets(self, period: ExportRange) -> AsyncIterator[Sequence[Sequence[object]]]:
        yield [TICKET_COLUMNS]
        query = self._within(
            select(Ticket, Customer.name, Product.serial)
            .outerjoin(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Product, Product.id == Ticket.product_id).order_by(Ticket.id),
            Ticket.created_at, period,
        )
        async for part in self._parts(query):
            yield [
                (t.number, t.type, t.status, t.urgency, t.department, t.branch_id, t.summary, t.customer_id,
                 name, serial, t.call_linkedid, t.source, self._time(t.created_at), self._time(t.updated_at),
                 self._time(t.due_at), self._time(t.responded_at), self._time(t.completed_at),
                 self._time(t.closed_at), t.escalation_level)
                for t, name, serial in part
            ]

    async def _calls(self, period: ExportRange) -> AsyncIterator[Sequence[Sequence[object]]]:
        yield [CALL_COLUMNS]
        query = self._within(select(CallRow).order_by(CallRow.started_at, CallRow.id), CallRow.started_at, period)
        async for part in self._parts(query):
            yield [
                (c.linkedid, c.caller_number, c.caller_name, c.customer_id, c.queue, c.agent,
                 self._time(c.started_at), self._time(c.answered_at), self._time(c.ended_at),
                 _seconds(c.wait_seconds), _seconds(c.duration_seconds), c.hangup_cause_text)
                for (c,) in part
            ]


async def _said(
    what: str, parts: AsyncIterator[Sequence[Sequence[object]]], lang: str
) -> AsyncIterator[Sequence[Sequence[object]]]:
    """The header's labels and the cells' words in ``lang``."""
    header: Sequence[str] = ()
    async for part in parts:
        if not header:
            header = [str(code) for code in part[0]]
            yield [column_labels(what, header, lang)]
        else:
            yield cell_words(what, header, part, lang)


async def _csv_parts(parts: AsyncIterator[Sequence[Sequence[object]]]) -> AsyncIterator[bytes]:
    first = True
    async for part in parts:
        yield ((BOM if first else "") + csv_text(part)).encode()
        first = False


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
