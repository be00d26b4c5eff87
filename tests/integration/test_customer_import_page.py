"""The customer import page in headless Chromium against the real web app (no Asterisk
needed): an admin uploads a GB18030 file, or an Excel workbook, with bad rows and sees each
rejected line; the export links (CSV and .xlsx) download what was imported; an agent is turned away."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook

from ctiserver.settings import Settings
from ctiserver.spreadsheets import http as spreadsheets_http
from ctiserver.spreadsheets.exports import CsvExports
from ctiserver.spreadsheets.plugin import MAX_UPLOAD
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.spreadsheets.workbooks import MEDIA_TYPE
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.conftest import free_port
from tests.support.web_fakes import FAST_HASHER, XSS, FakeAmi, FakeTracker
from tests.unit.test_customer_import import CHINESE
from tests.unit.test_xlsx import csv_rows, workbook

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # launched_chromium skips outside CI, fails in CI
    pass

pytestmark = pytest.mark.integration

PASSWORD = "pw 口令"
TIMEOUT_MS = 10_000


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[str]:
    from tests.unit.web_app import build_app

    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("admin", PASSWORD, "admin", "李管理")
    await users.add("agent1001", PASSWORD, "agent", "王小明")
    settings = Settings().replace(web={"session_secret": "customer import page"})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    spreadsheets_http.register(app, spreadsheets_http.Spreadsheets(
        CustomerImport(db), CsvExports(db, settings.hotline.timezone), "CN", MAX_UPLOAD
    ))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await db.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as browser:
        yield browser


async def open_as(browser: Browser, base: str, username: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base}/ui/admin/customers.html")
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#login-form input[name=username]", username)
    await page.fill("#login-form input[name=password]", PASSWORD)
    await page.click("#login-form button[type=submit]")
    return page, errors


async def test_upload_shows_rejected_lines_and_exports_download(browser: Browser, site: str) -> None:
    page, errors = await open_as(browser, site, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await page.click("#lang-toggle")  # English
    source = CHINESE + f"恶意,13500001111,,,,,,{XSS},,,\n"
    await page.set_input_files("#file", files=[{
        "name": "客户.csv", "mimeType": "text/csv", "buffer": source.encode("gb18030"),
    }])
    await page.click("#upload")
    await expect(page.locator("#summary")).to_have_text(
        "Imported 5 row(s) (4 customer(s), 5 phone(s), 5 product(s) added; 0 already there), rejected 6 row(s)"
    )
    await expect(page.locator("#problems li")).to_have_text([
        "line 4: missing phone",
        'line 5: bad date "2023-13-45"',
        'line 6: duplicate: serial "AC001" is on line 2',
        'line 7: invalid phone "12345"',
        'line 11: duplicate: this customer\'s "KFR-35GW" is on line 10',
        f'line 12: unknown level "{XSS}"',
    ])
    assert await page.locator("#problems img").count() == 0  # the cell is text, not markup
    await page.click("#lang-toggle")  # 中文: the report follows
    await expect(page.locator("#problems li")).to_have_text([  # every reason in Chinese too
        "第 4 行：缺少电话",
        "第 5 行：日期无法识别“2023-13-45”",
        "第 6 行：重复：序列号“AC001”已在第 2 行",
        "第 7 行：电话号码无效“12345”",
        "第 11 行：重复：该客户的“KFR-35GW”已在第 10 行",
        f"第 12 行：未知的客户级别“{XSS}”",
    ])

    async with page.expect_download() as waiting:
        await page.click("#export-customers")
    download = await waiting.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_bytes().decode("utf-8-sig"))))
    # headed in the page's language (Chinese now), the headers the import reads
    assert [r["序列号"] for r in rows] == ["AC001", "RF002", "WM009", "X1", ""]  # no catalogue: any model
    await page.fill("#from", "2000-01-01")
    await page.dispatch_event("#from", "change")
    assert await page.get_attribute("#export-calls", "href") == "/api/export/calls.csv?lang=zh&from=2000-01-01"
    assert errors == []


async def test_a_workbook_uploads_with_the_same_report_and_exports_as_one(browser: Browser, site: str) -> None:
    page, errors = await open_as(browser, site, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await page.click("#lang-toggle")  # English
    rows = csv_rows(CHINESE + f"恶意,13500001111,,,,,,{XSS},,,\n")
    await page.set_input_files("#file", files=[{
        "name": "客户.xlsx", "mimeType": MEDIA_TYPE, "buffer": workbook(rows, title="名单", before=("说明",)),
    }])
    await page.fill("#sheet", "名单")
    await page.click("#upload")
    await expect(page.locator("#summary")).to_have_text(
        "Imported 5 row(s) (4 customer(s), 5 phone(s), 5 product(s) added; 0 already there), rejected 6 row(s)"
    )
    await expect(page.locator("#problems li").first).to_have_text("line 4: missing phone")
    await expect(page.locator("#problems li").last).to_have_text(f'line 12: unknown level "{XSS}"')
    assert await page.locator("#problems img").count() == 0

    async with page.expect_download() as waiting:
        await page.click("#export-customers-xlsx")
    download = await waiting.value
    sheet = load_workbook(io.BytesIO(Path(await download.path()).read_bytes())).worksheets[0]
    assert [c.coordinate for line in sheet.iter_rows() for c in line if c.data_type == "f"] == []
    assert next(sheet.iter_rows(max_row=1, values_only=True))[11] == "Serial"  # the page's language
    serials = [line[11] or "" for line in sheet.iter_rows(min_row=2, values_only=True)]
    assert serials == ["AC001", "RF002", "WM009", "X1", ""]
    assert "=cmd|' /C calc'!A0" in [line[1] for line in sheet.iter_rows(values_only=True)]
    await page.fill("#to", "2000-01-02")
    await page.dispatch_event("#to", "change")
    assert await page.get_attribute("#export-tickets-xlsx", "href") == "/api/export/tickets.xlsx?lang=en&to=2000-01-02"
    assert errors == []


async def test_a_20000_row_file_is_imported_or_reported_row_by_row(browser: Browser, site: str) -> None:
    """Beyond what the old upload read (0.78 MB): every row is counted, the bad ones by line."""
    lines = ["姓名,电话,省,市,详细地址,型号,序列号"]
    bad = {n: ("12345" if n % 3 else "") for n in range(5, 20_000, 997)}
    for n in range(20_000):
        phone = bad.get(n, f"137{n:08d}")
        lines.append(f"页面客户{n},{phone},广东省,深圳市,科技园{n}号 一栋二单元 某某大厦,KFR-35GW,PG{n:07d}")
    body = ("\n".join(lines) + "\n").encode("gb18030")
    assert len(body) > 1024 * 1024
    page, errors = await open_as(browser, site, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await page.click("#lang-toggle")  # English
    await page.set_input_files("#file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": body}])
    await page.click("#upload")
    accepted = 20_000 - len(bad)
    await expect(page.locator("#summary")).to_have_text(
        f"Imported {accepted} row(s) ({accepted} customer(s), {accepted} phone(s), {accepted} product(s) added;"
        f" 0 already there), rejected {len(bad)} row(s)", timeout=600_000)
    expected = [f"line {n + 2}: " + ('invalid phone "12345"' if phone else "missing phone")
                for n, phone in sorted(bad.items())]
    await expect(page.locator("#problems li")).to_have_text(expected)
    assert errors == []


async def test_a_big5_file_found_or_named(browser: Browser, site: str) -> None:
    from tests.unit.test_spreadsheets_integrity import TRADITIONAL

    page, errors = await open_as(browser, site, "admin")
    await expect(page.locator("#main")).to_be_visible()
    await page.click("#lang-toggle")  # English
    for encoding, summary in (("big5", "Imported 2 row(s) (2 customer(s), 2 phone(s), 2 product(s) added;"
                                       " 0 already there), rejected 0 row(s)"),
                              ("", "Imported 2 row(s) (0 customer(s), 0 phone(s), 0 product(s) added;"
                                   " 2 already there), rejected 0 row(s)")):
        await page.select_option("#encoding", encoding)
        await page.set_input_files("#file", files=[{
            "name": "台灣.csv", "mimeType": "text/csv", "buffer": TRADITIONAL.encode("big5")}])
        await page.click("#upload")
        await expect(page.locator("#summary")).to_have_text(summary)
    await page.select_option("#encoding", "utf-8")
    await page.click("#upload")
    await expect(page.locator("#upload-status")).to_contain_text("the file is not utf-8 text: line 1")
    assert errors == []


async def test_an_agent_is_turned_away(browser: Browser, site: str) -> None:
    page, errors = await open_as(browser, site, "agent1001")
    await expect(page.locator("#denied")).to_be_visible()
    await expect(page.locator("#main")).to_be_hidden()
    assert errors == []
