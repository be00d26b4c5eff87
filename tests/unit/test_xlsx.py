"""Excel in and out (issue 23, part 4): a workbook of the CSV tests' rows imports with the
same report and the same idempotence, Chinese headers, the first sheet or a named one;
exports and report tables as workbooks read back as the CSV's rows; a cell that looks like
a formula is text both ways; damaged, bombed and huge workbooks are refused with a 4xx.
The report tables as workbooks: tests/unit/test_reports_api.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openpyxl import Workbook, load_workbook

from ctiserver.calls.store import CallRepository
from ctiserver.customers.tables import ProductModel
from ctiserver.spreadsheets.exports import EXPORTS, CsvExports
from ctiserver.spreadsheets.model import UnreadableFile, parse_customers, undefuse
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.spreadsheets.workbooks import MEDIA_TYPE, check_zip, parse_workbook, read_customers
from ctiserver.storage.database import Database
from ctiserver.tickets.store import TicketRepository
from tests.unit.test_cli import ctiserver
from tests.unit.test_customer_import import CATALOGUE, CHINESE
from tests.unit.test_spreadsheets_integrity import CALLS, ROUND_TRIP, admin, web_app  # noqa: F401  (fixture)

Client = TestClient[web.Request, web.Application]


def workbook(rows: list[list[Any]], *, title: str = "客户", before: tuple[str, ...] = ()) -> bytes:
    """The rows as a workbook (every text cell text, as Excel saves typed text), after sheets ``before``."""
    book = Workbook()
    book.remove(book.active)
    for name in before:
        book.create_sheet(name).append(["说明", "这一页不是客户"])
    sheet = book.create_sheet(title)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            if value not in ("", None):
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def report(parsed: Any) -> tuple[list[tuple[int, str]], list[tuple[int, str, tuple[str, ...]]]]:
    return ([(p.line, p.reason) for p in parsed.problems],
            [(r.line, r.name, r.keys, r.product) for r in parsed.rows])


def test_a_workbook_of_the_csv_rows_gives_the_same_report() -> None:
    data = workbook(csv_rows(CHINESE))
    assert data.startswith(b"PK\x03\x04")
    from_csv = parse_customers(CHINESE, catalogue=CATALOGUE)
    from_xlsx = parse_workbook(data, catalogue=CATALOGUE)
    assert report(from_xlsx) == report(from_csv)
    assert len(from_xlsx.problems) == 6 and [r.line for r in from_xlsx.rows] == [2, 3, 8, 10]
    # told by its content, whatever the name: the same report
    assert report(read_customers(data, catalogue=CATALOGUE)) == report(from_csv)


def test_typed_cells_read_as_the_csv_text() -> None:
    rows: list[list[Any]] = [
        ["客户名称", "手机号码", "产品型号", "产品序列号", "安装日期"],
        ["张三", 13800138000, "KFR-35GW", 1001, dt.datetime(2021, 6, 12)],
        ["李四", 13912345678.0, "BCD-470", "RF002", dt.date(2022, 3, 2)],
    ]
    parsed = parse_workbook(workbook(rows))
    assert parsed.problems == []
    first, second = parsed.rows
    assert first.keys == ("13800138000",) and second.keys == ("13912345678",)
    assert first.product is not None and first.product.serial == "1001"
    assert first.product.installed_on == dt.date(2021, 6, 12)
    assert second.product is not None and second.product.installed_on == dt.date(2022, 3, 2)


def test_the_first_sheet_or_the_one_named() -> None:
    data = workbook(csv_rows(CHINESE), title="客户名单", before=("说明",))
    with pytest.raises(UnreadableFile, match="line 1: no column name or phone"):
        parse_workbook(data)  # the first sheet is the notes
    assert len(parse_workbook(data, sheet="客户名单", catalogue=CATALOGUE).rows) == 4
    with pytest.raises(UnreadableFile, match='no sheet "其他" \\(its sheets: "说明", "客户名单"\\)'):
        parse_workbook(data, sheet="其他")
    # a title row and blank rows above the header: lines are the sheet's rows
    titled = workbook([["客户名单 2024"], [], *csv_rows("姓名,电话\n王五,13600001234\n钱七,12345\n")])
    with pytest.raises(UnreadableFile, match="line 1: no column"):
        parse_workbook(titled)
    shifted = workbook([[], [], *csv_rows("姓名,电话\n王五,13600001234\n钱七,12345\n")])
    parsed = parse_workbook(shifted)
    assert [r.line for r in parsed.rows] == [4] and [(p.line, p.reason) for p in parsed.problems] == [
        (5, 'invalid phone "12345"')]


def test_damaged_bombed_and_huge_workbooks_are_refused() -> None:
    good = workbook(csv_rows(CHINESE))
    for broken in (good[:len(good) // 2], b"PK\x03\x04" + bytes(200), good[:30] + bytes(len(good) - 30)):
        with pytest.raises(UnreadableFile, match="not a readable Excel workbook"):
            read_customers(broken)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("xl/worksheets/sheet1.xml", "w") as part:
        for _ in range(64):
            part.write(b"<c/>" * (256 * 1024))  # 64 MB of the same bytes, packed ~1000 times
    assert len(bomb.getvalue()) < 1024 * 1024
    with pytest.raises(UnreadableFile, match="packed like a zip bomb"):
        read_customers(bomb.getvalue())
    with pytest.raises(UnreadableFile, match="unpacks to more than the limit of 1 MB"):
        check_zip(workbook([["姓名", "电话"], *[[f"客户{n}", f"139{n:08d}"] for n in range(30_000)]]),
                  limit=1024 * 1024)


async def test_the_import_of_a_workbook_is_idempotent_like_the_csv(db: Database) -> None:
    async with db.session() as session:
        session.add_all([ProductModel(model=m, category=c) for m, c in CATALOGUE.items()])
        await session.commit()
    importer = CustomerImport(db)
    parsed = parse_workbook(workbook(csv_rows(CHINESE)), catalogue=await importer.catalogue())
    first = await importer.run(parsed.rows, parsed.problems)
    assert (first.accepted, first.customers, first.phones, first.products) == (4, 3, 4, 4)
    assert first.lines()[0] == "line 4: missing phone"
    again = await importer.run(parsed.rows, parsed.problems)
    assert (again.accepted, again.added_rows, again.customers, again.products) == (4, 0, 0, 0)
    # the CSV of the same rows after it: nothing more either
    csv_parsed = parse_customers(CHINESE, catalogue=await importer.catalogue())
    assert (await importer.run(csv_parsed.rows, csv_parsed.problems)).added_rows == 0


def no_formulas(data: bytes) -> list[list[str]]:
    """The workbook's cells as the CSV's text; fails if any cell is a formula."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]  # not read-only: data types kept
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def csv_of(data: bytes) -> list[list[str]]:
    return [[undefuse(cell) for cell in row] for row in csv_rows(data.decode("utf-8-sig"))]


async def test_exports_as_workbooks_equal_the_csv_and_formulas_stay_text(db: Database, tmp_path: Path) -> None:
    parsed = parse_customers(ROUND_TRIP)
    await CustomerImport(db).run(parsed.rows)
    tickets = TicketRepository(db, timezone="Asia/Shanghai")
    for kind in ("repair", "complaint"):
        await tickets.open(kind, f"=1+1 {kind}", {}, customer_id=None, call_linkedid=f"call-{kind}", source="agent")
    await CallRepository(db).save_many(CALLS)
    exports = CsvExports(db, "Asia/Shanghai")
    for what in EXPORTS:
        text = csv_of(b"".join([part async for part in exports.stream(what)]))
        out = io.BytesIO()
        assert await exports.write_xlsx(what, out) == len(text) - 1
        cells = no_formulas(out.getvalue())
        assert cells == [row + [""] * (len(cells[0]) - len(row)) for row in text], what
        assert len(cells) > 2, what
    names = [row[1] for row in cells_of_customers(await _xlsx(exports, "customers"))]
    assert {"=cmd|' /C calc'!A0", "'=已经带引号", "＋全角"} <= set(names)

    # exported as a workbook, imported again: nothing added, nothing refused (the identity)
    back = parse_workbook(await _xlsx(exports, "customers"))
    assert back.problems == []
    again = await CustomerImport(db).run(back.rows, back.problems)
    assert again.added_rows == 0 and again.accepted == len(parsed.rows)


async def _xlsx(exports: CsvExports, what: str) -> bytes:
    out = io.BytesIO()
    await exports.write_xlsx(what, out)
    return out.getvalue()


def cells_of_customers(data: bytes) -> list[list[str]]:
    return no_formulas(data)[1:]


async def test_the_routes_take_and_serve_workbooks(admin: Client) -> None:  # noqa: F811
    rows = csv_rows(CHINESE)
    response = await admin.post("/api/import/customers", data=workbook(rows), headers={"Content-Type": MEDIA_TYPE})
    result = await response.json()
    assert response.status == 200, result
    assert (result["accepted"], result["rejected"]) == (5, 5)  # no catalogue: only the model checks go
    assert [p["line"] for p in result["problems"]] == [4, 5, 6, 7, 11]
    for broken in (b"PK\x03\x04" + bytes(100), workbook(rows)[:500]):
        response = await admin.post("/api/import/customers", data=broken, headers={"Content-Type": "text/csv"})
        assert response.status == 400 and "Excel workbook" in (await response.json())["error"]
    response = await admin.post("/api/import/customers?sheet=Sheet9", data=workbook(rows),
                                headers={"Content-Type": MEDIA_TYPE})
    assert response.status == 400 and 'no sheet "Sheet9"' in (await response.json())["error"]

    served = {}
    for suffix in ("csv", "xlsx"):
        response = await admin.get(f"/api/export/customers.{suffix}")
        assert response.status == 200
        served[suffix] = await response.read()
    assert response.content_type == MEDIA_TYPE
    assert no_formulas(served["xlsx"]) == csv_of(served["csv"])



async def test_the_command_imports_and_exports_workbooks(tmp_path: Path) -> None:
    source = tmp_path / "客户.xlsx"
    source.write_bytes(workbook(csv_rows(ROUND_TRIP), title="名单", before=("说明",)))
    done = ctiserver("import", "customers", "--sheet", "名单", str(source), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "imported 7 row(s)" in done.stdout
    out = tmp_path / "customers.xlsx"
    done = ctiserver("export", "customers", str(out), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    plain = tmp_path / "customers.data"
    done = ctiserver("export", "customers", "--format", "xlsx", str(plain), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    csv_out = tmp_path / "customers.csv"
    assert ctiserver("export", "customers", str(csv_out), tmp_path=tmp_path).returncode == 0
    assert no_formulas(out.read_bytes()) == no_formulas(plain.read_bytes()) == csv_of(csv_out.read_bytes())
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + bytes(64))
    done = ctiserver("import", "customers", str(bad), tmp_path=tmp_path)
    assert done.returncode == 1 and "not a readable Excel workbook" in done.stderr
