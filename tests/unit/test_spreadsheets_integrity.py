"""Nothing lost on the way in, exports proven with data (issue 18, parts 0 and 7): files of
every encoding read as what they are (or refused with the reason), cells of any size or
content refuse their row only, export then import is the identity, uploads are read whole
up to the limit, and every export holds rows of every kind."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from ctiserver.calls.store import CallRepository, CallSnapshot
from ctiserver.customers.tables import Customer
from ctiserver.reports.model import csv_text as report_csv
from ctiserver.settings import Settings
from ctiserver.spreadsheets import http as spreadsheets_http
from ctiserver.spreadsheets.exports import CALL_COLUMNS, TICKET_COLUMNS, CsvExports
from ctiserver.spreadsheets.model import MAX_CELL, UnreadableFile, decode, defuse, parse_customers, undefuse
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import Ticket
from ctiserver.users.store import UserRepository
from ctiserver.vocabulary import TICKET_STATUSES, TICKET_TYPES
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.test_cli import ctiserver

PASSWORD = "pw 口令"

HEADER = "姓名,电话,省,市,区,详细地址,级别,型号,序列号,安装日期\n"
TRADITIONAL = (
    "姓名,電話,省,市,區,詳細地址,級別,型號,序列號,安裝日期\n"
    "陳美玲,+886 912 345 678,臺灣省,臺北市,中正區,重慶南路一段122號,VIP,KFR-35GW,TW001,2021/6/12\n"
    "張志明,+852 9123 4567,香港,九龍,油尖旺區,彌敦道100號,普通,BCD-470,HK002,2022-03-02\n"
)
SIMPLIFIED = (
    HEADER
    + "张三,13800138000,北京市,北京市,朝阳区,建国路88号,VIP,KFR-35GW,AC001,2021/6/12\n"
    + "李四,13912345678,广东省,广州市,天河区,天河路2号,普通,BCD-470,RF002,2022-03-02\n"
)


def names(text: str) -> list[str]:
    parsed = parse_customers(text)
    assert parsed.problems == []
    return [row.name for row in parsed.rows]


def test_files_of_every_encoding_read_as_what_they_are() -> None:
    assert names(decode(TRADITIONAL.encode("big5"))) == ["陳美玲", "張志明"]
    assert names(decode(SIMPLIFIED.encode("gb18030"))) == ["张三", "李四"]
    assert names(decode(SIMPLIFIED.encode("utf-8-sig"))) == ["张三", "李四"]
    assert names(decode(SIMPLIFIED.encode("utf-16"))) == ["张三", "李四"]  # Excel's "Unicode text"
    assert names(decode(SIMPLIFIED.encode("utf-16-le"))) == ["张三", "李四"]  # no mark
    assert names(decode(TRADITIONAL.encode("utf-8"))) == ["陳美玲", "張志明"]
    # named by the user: taken at its word, and checked
    assert names(decode(TRADITIONAL.encode("big5"), "big5")) == ["陳美玲", "張志明"]
    assert names(decode(TRADITIONAL.encode("big5hkscs"), "Big5-HKSCS")) == ["陳美玲", "張志明"]


def test_a_file_that_is_not_what_it_claims_is_refused_with_the_reason() -> None:
    with pytest.raises(UnreadableFile, match=r"not utf-8 text: line 1 has bytes"):
        decode(SIMPLIFIED.encode("gb18030"), "utf-8")
    with pytest.raises(UnreadableFile, match=r"UTF-8 mark: line 3 has bytes c0 "):
        decode(codecs.BOM_UTF8 + "姓名,电话\n张三,1\n".encode() + "李四,2\n".encode("gb18030"))
    with pytest.raises(UnreadableFile, match="unknown encoding"):
        decode(b"name,phone\n", "klingon")
    with pytest.raises(UnreadableFile, match=r"Excel workbook \(\.xlsx\)"):
        decode(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(UnreadableFile, match="none of UTF-8, GB18030, Big5 or UTF-16"):
        decode(bytes(range(256)) * 8)


def test_control_characters_and_huge_cells_refuse_their_row_and_the_parse_goes_on() -> None:
    big = "x" * 200_000  # beyond the csv module's 128 KB, which ended the parse before
    text = (
        "name,phone,address,notes\n"
        "王一,13800000001,a,\n"
        f"王二,13800000002,\"{big}\",\n"
        "王三,13800000003,b\x00c,\n"
        "王四,13800000004,c,\x07bell\n"
        f"王五,13800000005,d,{'y' * (MAX_CELL + 1)}\n"
        "王六,13800000006,\"二楼\n左手边\",\n"
        "王七,13800000007,e,\n"
    )
    parsed = parse_customers(text)
    assert [(p.line, p.reason) for p in parsed.problems] == [
        (3, "column 3 longer than 4096 characters (200000)"),
        (4, "control character U+0000 in column 3"),
        (5, "control character U+0007 in column 4"),
        (6, f"column 4 longer than {MAX_CELL} characters ({MAX_CELL + 1})"),
    ]
    assert [row.name for row in parsed.rows] == ["王一", "王六", "王七"]
    assert [row.line for row in parsed.rows] == [2, 7, 9]  # the quoted cell spans two lines


def test_a_quote_left_open_reports_every_line_it_swallows() -> None:
    parsed = parse_customers('name,phone\n王一,13800000001\n王二,"13800000002\n王三,13800000003\n')
    assert [row.name for row in parsed.rows] == ["王一"]
    assert [p.text() for p in parsed.problems] == [
        'line 3: invalid phone "13800000002\n王三,13800000003" '
        "(the row runs from line 3 to line 4: is a quote left open?)"
    ]


def test_defusing_covers_full_width_signs_and_undefusing_gives_every_cell_back() -> None:
    cells = ["=1+1", "+86 138", "-2", "@SUM(A1)", "＝SUM(A1)", "＋86", "－1", "＠x", "\tx", "'=1", "''+1",
             "'", "it's", "张三", "", "a=b"]
    defused = [defuse(c) for c in cells]
    assert defused[:9] == ["'=1+1", "'+86 138", "'-2", "'@SUM(A1)", "'＝SUM(A1)", "'＋86", "'－1", "'＠x", "'\tx"]
    assert defused[9:11] == ["''=1", "'''+1"]
    assert defused[11:] == cells[11:]
    assert [undefuse(c) for c in defused] == cells
    report = report_csv(["name"], [["＝HYPERLINK(1)"], ["＠A"], ["张伟"]])
    assert list(csv.reader(io.StringIO(report[1:]))) == [["name"], ["'＝HYPERLINK(1)"], ["'＠A"], ["张伟"]]


ROUND_TRIP = (
    "name,phone,province,city,district,street,address_detail,level,category,model,serial,installed_on\n"
    "张三,13800138000; 010-6552 8899,北京市,北京市,朝阳区,建国路,88号,vip,空调,KFR-35GW,AC001,2021-06-12\n"
    "张三,13800138000,北京市,北京市,朝阳区,建国路,88号,vip,冰箱,BCD-470,RF002,2022-03-02\n"
    "张三,13800138000,北京市,北京市,朝阳区,建国路,88号,vip,洗衣机,XQG100,,\n"
    '"=cmd|\' /C calc\'!A0",+1 650 253 0000,,,,,"-1 楼, ＝B2",normal,,XQG100,WM009,2024-01-05\n'
    "''=已经带引号,+852 9123 4567,,,,,＠home,normal,,,,\n"
    "＋全角,+886 912 345 678,台湾,台北,,,\"二楼\n左手边\",normal,,,,\n"
    "李四,13912345678,广东省,广州市,天河区,天河路,2号,normal,,,,\n"
)
KEPT = ("name", "phone", "province", "city", "district", "street", "address_detail", "level", "category",
        "model", "serial", "installed_on")


async def export_customers(db: Database) -> str:
    data = b"".join([part async for part in CsvExports(db, "Asia/Shanghai").stream("customers")])
    return data.decode("utf-8-sig")


def kept(text: str) -> list[list[str]]:
    return [[row[c] for c in KEPT] for row in csv.DictReader(io.StringIO(text))]


async def test_export_then_import_is_the_identity(tmp_path: Path, db: Database) -> None:
    parsed = parse_customers(ROUND_TRIP)
    assert parsed.problems == []
    first = await CustomerImport(db).run(parsed.rows)
    assert (first.customers, first.products) == (5, 4)
    exported = await export_customers(db)
    assert "'=cmd|' /C calc'!A0" in exported and "''=已经带引号" in exported and "'＋全角" in exported

    # imported again where it came from: every row there already, none refused
    again_parsed = parse_customers(exported)
    again = await CustomerImport(db).run(again_parsed.rows, again_parsed.problems)
    assert again.problems == [] and again.added_rows == 0 and again.accepted == 7

    # imported into an empty database: the same customers, cell for cell
    url = f"sqlite+aiosqlite:///{tmp_path}/other.sqlite3"
    await upgrade_schema(url)
    other = Database(url)
    try:
        back = parse_customers(exported)
        report = await CustomerImport(other).run(back.rows, back.problems)
        assert report.problems == [] and (report.customers, report.products) == (5, 4)
        assert kept(await export_customers(other)) == kept(exported)
        async with other.session() as session:
            stored = set((await session.scalars(select(Customer.name))).all())
            address = await session.scalar(select(Customer.address_detail).where(Customer.name == "＋全角"))
        assert stored == {"张三", "=cmd|' /C calc'!A0", "'=已经带引号", "＋全角", "李四"}
        assert address == "二楼\n左手边"
    finally:
        await other.close()


async def test_every_ticket_kind_and_status_is_exported_by_the_route_and_the_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"  # the command's (tests.unit.test_cli)
    await upgrade_schema(url)
    db = Database(url)
    tickets = TicketRepository(db, timezone="Asia/Shanghai")
    opened = []
    for kind in TICKET_TYPES:
        for status in TICKET_STATUSES:
            ticket = await tickets.open(kind, f"＝{kind} {status}", {}, customer_id=None,
                                        call_linkedid=f"call-{kind}-{status}",
                                        source="ivr" if status == "new" else "agent")
            opened.append((ticket.id, kind, status))
    completed = dt.datetime(2026, 5, 6, 10, 30, tzinfo=dt.UTC)
    async with db.session() as session:
        for ticket_id, _, status in opened:
            done = status in ("completed", "return_visit", "closed")
            await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(
                status=status, completed_at=completed if done else None,
                closed_at=completed if status in ("closed", "cancelled") else None,
            ))
        await session.commit()
    streamed = b"".join([part async for part in CsvExports(db, "Asia/Shanghai").stream("tickets")])
    async with web_app(db, "admin") as client:
        response = await client.get("/api/export/tickets.csv?headers=codes")
        assert response.status == 200 and response.content_type == "text/csv"
        served = await response.read()
    await db.close()
    out = tmp_path / "tickets.csv"
    done = ctiserver("export", "tickets", "--headers", "codes", str(out), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert served == streamed
    for data in (streamed, out.read_bytes()):
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert list(rows[0]) == list(TICKET_COLUMNS)
        assert [(r["type"], r["status"]) for r in rows] == [(k, s) for _, k, s in opened]
        assert all(r["summary"].startswith("'＝") for r in rows)
        closed = next(r for r in rows if r["status"] == "closed")
        assert closed["completed_at"] == closed["closed_at"] == "2026-05-06 18:30:00"
        assert all(r["number"] and r["created_at"] and r["due_at"] for r in rows)


CALLS = [  # answered by an agent, abandoned in the queue, ended in the IVR, still going
    CallSnapshot("c-answered", "13800138000", "张三", 1778040000.0, 1778040012.0, 1778040192.5, "repair",
                 "PJSIP/1001", 12.0, 16, "Normal Clearing"),
    CallSnapshot("c-abandoned", "+8613912345678", "=HYPERLINK()", 1778040100.0, None, 1778040160.0, "repair",
                 None, 60.0, 16, "Normal Clearing"),
    CallSnapshot("c-ivr", "anonymous", None, 1778040200.0, None, 1778040230.0, None, None, None, 17, "User busy"),
    CallSnapshot("c-live", "01065528899", None, 1778040300.0, 1778040305.0, None, "support", "PJSIP/1002",
                 5.0, None, None),
]


async def test_calls_of_every_outcome_are_exported(db: Database) -> None:
    await CallRepository(db).save_many(CALLS)
    data = b"".join([part async for part in CsvExports(db, "Asia/Shanghai").stream("calls")])
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(CALL_COLUMNS)
    assert [r["call_id"] for r in rows] == [c.linkedid for c in CALLS]
    answered, abandoned, ivr, live = rows
    assert (answered["agent"], answered["answered_at"], answered["duration_seconds"]) == (
        "PJSIP/1001", "2026-05-06 12:00:12", "192.5")
    assert (abandoned["answered_at"], abandoned["wait_seconds"], abandoned["caller_name"]) == (
        "", "60.0", "'=HYPERLINK()")
    assert abandoned["caller_number"] == "'+8613912345678"
    assert (ivr["queue"], ivr["hangup_cause"]) == ("", "User busy")
    assert (live["ended_at"], live["duration_seconds"]) == ("", "")


@contextlib.asynccontextmanager
async def web_app(db: Database, role: str) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The web app with the spreadsheets' routes (a 1 MB upload limit), logged in with ``role``."""
    from tests.unit.web_app import build_app

    users = UserRepository(db, FAST_HASHER)
    await users.add(role, PASSWORD, role, "李用户")
    settings = Settings().replace(web={"session_secret": "spreadsheets integrity"})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    spreadsheets_http.register(app, spreadsheets_http.Spreadsheets(
        CustomerImport(db), CsvExports(db, "Asia/Shanghai"), "CN", 1024 * 1024))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.post("/login", json={"username": role, "password": PASSWORD})
        assert response.status == 200
        yield client
    finally:
        await client.close()


@pytest.fixture
async def admin(db: Database) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with web_app(db, "admin") as client:
        yield client


def many_rows(count: int, notes: int = 0) -> str:
    """``count`` customers; ``notes``: characters of a column the import does not read (size cheaply)."""
    return "姓名,电话,详细地址,型号,序列号,备注\n" + "".join(
        f"客户{n},139{n:08d},某某路{n}号 一栋二单元,KFR-35GW,SN{n:08d},{'备' * notes}\n" for n in range(count)
    )


async def test_an_upload_is_read_whole_up_to_the_limit(admin: TestClient[web.Request, web.Application]) -> None:
    body = many_rows(1_000, notes=460).encode("gb18030")
    assert 0.9 * 1024 * 1024 < len(body) < 1024 * 1024  # beyond what the old read returned
    response = await admin.post("/api/import/customers", data=body, headers={"Content-Type": "text/csv"})
    result = await response.json()
    assert response.status == 200, result
    assert (result["accepted"], result["customers"], result["rejected"]) == (1_000, 1_000, 0)


async def test_an_upload_over_the_limit_is_refused_naming_it(
    admin: TestClient[web.Request, web.Application], db: Database
) -> None:
    body = many_rows(20_000).encode()
    response = await admin.post("/api/import/customers", data=body, headers={"Content-Type": "text/csv"})
    assert response.status == 413
    assert "limit of 1 MB (1048576 bytes)" in (await response.json())["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    response = await admin.post("/api/import/customers", data=chunks(), headers={"Content-Type": "text/csv"})
    assert response.status == 413 and "limit of 1 MB" in (await response.json())["error"]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_an_upload_names_its_encoding_or_has_it_found(
    admin: TestClient[web.Request, web.Application], db: Database
) -> None:
    big5 = TRADITIONAL.encode("big5")
    for query in ("", "?encoding=big5"):
        response = await admin.post(f"/api/import/customers{query}", data=big5, headers={"Content-Type": "text/csv"})
        assert response.status == 200
        assert (await response.json())["accepted"] == 2
    response = await admin.post("/api/import/customers?encoding=utf-8", data=big5,
                                headers={"Content-Type": "text/csv"})
    assert response.status == 400 and "not utf-8 text: line 1 has bytes" in (await response.json())["error"]
    async with db.session() as session:
        assert set((await session.scalars(select(Customer.name))).all()) == {"陳美玲", "張志明"}


async def test_the_command_refuses_an_undecodable_file_with_1_and_reads_big5(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(SIMPLIFIED.encode("gb18030"))
    done = ctiserver("import", "customers", "--encoding", "utf-8", str(bad), tmp_path=tmp_path)
    assert done.returncode == 1 and "bad.csv: the file is not utf-8 text: line 1" in done.stderr
    source = tmp_path / "台灣.csv"
    source.write_bytes(TRADITIONAL.encode("big5"))
    done = ctiserver("import", "customers", str(source), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    try:
        async with db.session() as session:
            assert list((await session.scalars(select(Customer.name).order_by(Customer.id))).all()) == [
                "陳美玲", "張志明"]
    finally:
        await db.close()
