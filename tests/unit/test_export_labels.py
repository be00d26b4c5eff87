"""The exports speak the page's language (issue 22): the customers', tickets' and calls'
files name their columns and say the contact center's codes in Chinese by default or in
English (``lang``), or keep the codes (``headers=codes``, for integrations); a customers'
file exported in either language imports again as the identity."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ctiserver.calls.store import CallRepository
from ctiserver.resources import page_vocabulary
from ctiserver.spreadsheets.exports import CALL_COLUMNS, CUSTOMER_COLUMNS, TICKET_COLUMNS, CsvExports, ExportHead
from ctiserver.spreadsheets.labels import COLUMNS, column_labels
from ctiserver.spreadsheets.model import HEADERS, columns, parse_customers
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.store import TicketRepository
from tests.unit.test_spreadsheets_integrity import CALLS, web_app

SOURCE = (
    "name,phone,province,city,district,street,address_detail,level,category,model,serial,installed_on\n"
    "张三,13800138000,北京市,北京市,朝阳区,建国路,1号,vip,washing_machine,XQG100,SN1,2021-06-12\n"
    "李四,13912345678,广东省,广州市,天河区,天河路,2号,normal,air_conditioner,KFR-35GW,SN2,\n"
    "王五,13700001111,,,,,,normal,,,,\n"
)


def table(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def exported(exports: CsvExports, what: str, head: ExportHead) -> bytes:
    return b"".join([part async for part in exports.stream(what, head=head)])


def test_every_column_is_named_in_both_languages_and_the_import_reads_them() -> None:
    for what, codes in (("customers", CUSTOMER_COLUMNS), ("tickets", TICKET_COLUMNS), ("calls", CALL_COLUMNS)):
        assert list(COLUMNS[what]) == list(codes), what
        for lang in ("zh", "en"):
            labels = column_labels(what, codes, lang)
            assert len(set(labels)) == len(labels) and labels != list(codes), (what, lang)
    for lang in ("zh", "en"):
        where = columns(column_labels("customers", CUSTOMER_COLUMNS, lang))
        assert {c: CUSTOMER_COLUMNS[i] for c, i in where.items()} == {c: c for c in HEADERS}, lang


async def test_export_in_either_language_then_import_is_the_identity(db: Database, tmp_path: Path) -> None:
    parsed = parse_customers(SOURCE)
    assert parsed.problems == []
    await CustomerImport(db).run(parsed.rows)
    exports = CsvExports(db, "Asia/Shanghai")
    codes = table(await exported(exports, "customers", ExportHead("codes")))
    for lang, category, level in (("zh", "洗衣机", "VIP"), ("en", "Washing machine", "VIP")):
        data = await exported(exports, "customers", ExportHead("labels", lang))
        rows = table(data)
        said = dict(zip(CUSTOMER_COLUMNS, column_labels("customers", CUSTOMER_COLUMNS, lang), strict=True))
        assert (rows[0][said["category"]], rows[0][said["level"]]) == (category, level)
        assert "washing_machine" not in data.decode("utf-8-sig")
        # into the database it came from: nothing added; into an empty one: the same rows, as codes
        again = parse_customers(data.decode("utf-8-sig"))
        assert again.problems == []
        assert (await CustomerImport(db).run(again.rows)).added_rows == 0
        url = f"sqlite+aiosqlite:///{tmp_path}/{lang}.sqlite3"
        await upgrade_schema(url)
        other = Database(url)
        try:
            await CustomerImport(other).run(again.rows)
            back = table(await exported(CsvExports(other, "Asia/Shanghai"), "customers", ExportHead("codes")))
        finally:
            await other.close()
        assert [{k: v for k, v in r.items() if k not in ("customer_id", "created_at")} for r in back] == [
            {k: v for k, v in r.items() if k not in ("customer_id", "created_at")} for r in codes]


async def test_the_routes_say_tickets_and_calls_in_the_language_asked(db: Database) -> None:
    tickets = TicketRepository(db, timezone="Asia/Shanghai")
    await tickets.open("repair", "不制冷", {}, customer_id=None, call_linkedid="c-1", source="ivr")
    await CallRepository(db).save_many(CALLS)
    words = page_vocabulary()
    async with web_app(db, "supervisor") as client:
        served = {}
        for query in ("", "?lang=en", "?headers=codes", "?lang=en&headers=codes"):
            for what in ("tickets", "calls"):
                response = await client.get(f"/api/export/{what}.csv{query}")
                assert response.status == 200, query
                served[what, query] = table(await response.read())
        for bad in ("?lang=fr", "?headers=names"):
            assert (await client.get(f"/api/export/tickets.csv{bad}")).status == 400
        workbook = await client.get("/api/export/calls.xlsx?lang=en")
        assert workbook.status == 200
    coded = served["tickets", "?headers=codes"][0]
    assert (coded["type"], coded["department"], coded["source"], coded["urgency"]) == (
        "repair", "repair", "ivr", "normal")
    assert served["tickets", "?headers=codes"] == served["tickets", "?lang=en&headers=codes"]
    ticket = served["tickets", ""][0]
    assert (ticket["类型"], ticket["状态"], ticket["部门"], ticket["来源"], ticket["紧急程度"]) == (
        words["type"]["repair"][0], words["tstatus"][coded["status"]][0], words["dept"]["repair"][0],
        "语音导航", "普通")
    english = served["tickets", "?lang=en"][0]
    assert (english["Type"], english["Status"], english["Source"]) == (
        "Repair", words["tstatus"][coded["status"]][1], "IVR")
    queues = words["queue"]
    assert [r["队列"] for r in served["calls", ""]] == [queues["repair"][0]] * 2 + ["", queues["support"][0]]
    assert [r["queue"] for r in served["calls", "?headers=codes"]] == ["repair", "repair", "", "support"]
    assert list(served["calls", "?lang=en"][0])[:2] == ["Call ID", "Caller number"]
