"""The customer CSV import: every bad row reported by its line, the good ones imported,
a second run adds nothing; GB18030 and Chinese headers; the exports equal the rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select

from ctiserver.customers.store import CustomerRepository
from ctiserver.customers.tables import Customer, CustomerPhone, Product, ProductModel
from ctiserver.pops.cards import CustomerCards
from ctiserver.spreadsheets.exports import CsvExports, ExportRange
from ctiserver.spreadsheets.model import decode, defuse, parse_customers, parse_date
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.storage.database import Database

#: Chinese headers in another order, as Excel in China saves them
CHINESE = (
    "姓名,电话,省,市,区,街道,详细地址,级别,型号,序列号,安装日期\n"
    "张三,13800138000；010-6552 8899,北京市,北京市,朝阳区,建国路,88号,VIP,KFR-35GW,AC001,2021/6/12\n"
    "张三,13800138000,北京市,北京市,朝阳区,建国路,88号,VIP,BCD-470,RF002,2022-03-02\n"
    "李四,,上海市,上海市,浦东新区,张江路,1号,普通,KFR-35GW,AC003,2023-01-20\n"
    "王五,13912345678,广东省,广州市,天河区,天河路,2号,,KFR-35GW,AC004,2023-13-45\n"
    "赵六,+852 9123 4567; 00886 912 345 678,香港,,,,,,KFR-35GW,AC001,2020-01-01\n"
    "钱七,12345,江苏省,南京市,鼓楼区,中山北路,3号,,,,\n"
    '"=cmd|\' /C calc\'!A0",+1 650 253 0000,,,,,,,XQG100,WM009,20240105\n'
    "孙八,13700001234,,,,,,,NO-SUCH,X1,\n"
    "周九,13600001234,,,,,,,KFR-35GW,,\n"
    "周九,013600001234,,,,,,,KFR-35GW,,\n"
)
CATALOGUE = {"KFR-35GW": "air conditioner", "BCD-470": "refrigerator", "XQG100": "washing machine"}


def test_dates_and_cells() -> None:
    assert parse_date("2021/6/12") == parse_date("2021-06-12") == parse_date("2021年6月12日") == dt.date(2021, 6, 12)
    assert parse_date("20210612") == parse_date("2021.6.12") == parse_date("2021/6/12 0:00") == dt.date(2021, 6, 12)
    assert parse_date("2021-13-45") is None and parse_date("yesterday") is None
    assert [defuse(c) for c in ("=1+1", "+86 138", "-2", "@SUM(A1)", "张三", None, 5)] == [
        "'=1+1", "'+86 138", "'-2", "'@SUM(A1)", "张三", "", "5"]


def test_the_parser_reports_each_bad_row_by_line() -> None:
    parsed = parse_customers(decode(CHINESE.encode("gb18030")), catalogue=CATALOGUE)
    assert [(p.line, p.reason) for p in parsed.problems] == [
        (4, "missing phone"),
        (5, 'bad date "2023-13-45"'),
        (6, 'duplicate: serial "AC001" is on line 2'),
        (7, 'invalid phone "12345"'),
        (9, 'unknown model "NO-SUCH"'),
        (11, 'duplicate: this customer\'s "KFR-35GW" is on line 10'),
    ]
    assert [row.line for row in parsed.rows] == [2, 3, 8, 10]
    first = parsed.rows[0]
    assert first.name == "张三" and first.level == "vip" and first.keys == ("13800138000", "01065528899")
    assert first.address["district"] == "朝阳区"
    assert first.product is not None and first.product.category == "air conditioner"
    assert first.product.installed_on == dt.date(2021, 6, 12)


def test_encodings_and_header_variants() -> None:
    text = "Customer Name,Mobile,Serial Number,Model,Install Date\nLi,+852 9123 4567,S1,M1,2024-01-02\n"
    for data in (text.encode("utf-8-sig"), text.encode("utf-8"), text.encode("gb18030")):
        parsed = parse_customers(decode(data))
        assert parsed.problems == [] and parsed.rows[0].keys == ("+85291234567",)
        assert parsed.rows[0].product is not None and parsed.rows[0].product.serial == "S1"
    assert decode("王五".encode("gb18030")) == "王五"


async def _counts(db: Database) -> tuple[int, int, int]:
    async with db.session() as session:
        return tuple([  # type: ignore[return-value]
            await session.scalar(select(func.count()).select_from(t)) or 0
            for t in (Customer, CustomerPhone, Product)
        ])


async def test_good_rows_are_imported_and_a_second_run_adds_nothing(db: Database) -> None:
    async with db.session() as session:
        session.add_all([ProductModel(model=m, category=c) for m, c in CATALOGUE.items()])
        await session.commit()
    importer = CustomerImport(db)
    catalogue = await importer.catalogue()
    assert catalogue == CATALOGUE
    parsed = parse_customers(decode(CHINESE.encode("gb18030")), catalogue=catalogue)
    report = await importer.run(parsed.rows, parsed.problems)
    assert (report.accepted, report.customers, report.phones, report.products) == (4, 3, 4, 4)
    assert len(report.problems) == 6
    assert report.lines()[0] == "line 4: missing phone"
    assert report.lines()[-1].startswith("imported 4 row(s): 3 customer(s), 4 phone(s), 4 product(s) added")
    assert await _counts(db) == (3, 4, 4)
    customers = CustomerRepository(db)
    for caller in ("013800138000", "+86 10 6552 8899", "0016502530000", "8613600001234"):
        assert len(await customers.find_by_phone(caller)) == 1, caller
    card = (await CustomerCards(db).for_phone("13800138000"))[0]
    assert sorted(p["serial"] for p in card["products"]) == ["AC001", "RF002"]

    again = await importer.run(parsed.rows, parsed.problems)
    assert (again.accepted, again.added_rows, again.customers, again.products) == (4, 0, 0, 0)
    assert await _counts(db) == (3, 4, 4)

    # a serial already owned by someone else is refused by the database's side, by line
    other = parse_customers("name,phone,model,serial\n吴十,13500001111,XQG100,AC001\n", catalogue=catalogue)
    refused = await importer.run(other.rows, other.problems)
    assert [p.text() for p in refused.problems] == ['line 2: duplicate: serial "AC001" belongs to another customer']
    assert await _counts(db) == (3, 4, 4)


async def test_the_exports_equal_the_rows_and_defuse_formulas(db: Database) -> None:
    parsed = parse_customers(decode(CHINESE.encode("utf-8")))
    await CustomerImport(db).run(parsed.rows)
    exports = CsvExports(db, "Asia/Shanghai")
    data = b"".join([part async for part in exports.stream("customers")])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    async with db.session() as session:
        products = (await session.execute(
            select(Customer.name, Product.model, Product.serial).join(Product).order_by(Customer.id, Product.id)
        )).all()
    assert [(r["name"], r["model"], r["serial"]) for r in rows if r["model"]] == [
        (defuse(name), model, serial or "") for name, model, serial in products]
    zhang = [r for r in rows if r["name"] == "张三"]
    assert zhang[0]["phone"] == "13800138000; 010-6552 8899" and zhang[0]["installed_on"] == "2021-06-12"
    assert "'=cmd|' /C calc'!A0" in [r["name"] for r in rows]
    assert "'+1 650 253 0000" in [r["phone"] for r in rows]
    # the export imported again adds nothing: the defusing quote is taken off again
    before = await _counts(db)
    back = parse_customers(data.decode("utf-8-sig"))
    assert back.problems == []
    report = await CustomerImport(db).run(back.rows)
    assert report.added_rows == 0 and report.accepted == len(back.rows) and await _counts(db) == before
    for what in ("tickets", "calls"):
        text = b"".join([p async for p in exports.stream(what, ExportRange(dt.date(2024, 1, 1), dt.date(2024, 1, 2)))])
        assert text.decode("utf-8-sig").count("\r\n") == 1
