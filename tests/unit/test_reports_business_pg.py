"""The business reports on PostgreSQL (first_contact's window and fault_rates' JSON lists
are written per dialect): every figure equals the independent computation of
tests/unit/test_reports_business.py over the same seeded month, with the filters."""

from __future__ import annotations

from typing import Any

import pytest

from ctiserver.reports.business import BusinessQueries
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService
from ctiserver.stats.days import HotlineDays
from ctiserver.storage.database import Database, upgrade_schema
from tests.business_seed import write
from tests.pg import PostgresServer, postgres_server
from tests.unit.test_reports_business import EXPECT, FILTERS, MONTH, ROWS, START, WEEK, ZONE

__all__ = ["postgres_server"]


async def test_every_business_figure_equals_the_rows_on_postgres(postgres_server: PostgresServer) -> None:
    url = await postgres_server.create_database("business_reports")
    await upgrade_schema(url)
    db = Database(url)
    try:
        await write(db.engine, ROWS)
        service = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: START.timestamp() + 40 * 86400, (),
                                "PJSIP/{extension}", BusinessQueries(db))
        for days in (MONTH, WEEK):
            for name, expect in EXPECT.items():
                for f in FILTERS:
                    report: dict[str, Any] = await service.business_report(name, service.period(*days), f)
                    assert report["rows"] == expect(days, f), (name, days, f)
    finally:
        await db.close()


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
