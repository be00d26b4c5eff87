"""Excel workbooks (.xlsx) read and written with openpyxl.

Reading is read-only mode (rows parsed as they are reached), after the zip's directory
is checked: a workbook whose parts would unpack to more than ``MAX_UNPACKED`` bytes, or
that packs them more tightly than any real sheet (a zip bomb), is refused before any
part is unpacked, and a sheet of more than ``MAX_ROWS`` rows is refused as it is read.
Cells are read as their values (a formula's last computed result), as the user sees them.

Writing is write-only mode (rows go to a temporary file as they come: bounded memory).
Every text cell is written as text: one starting like a formula (``=`` ``+`` ``-`` ``@``
or their full-width forms) is given the string type, so that no spreadsheet evaluates it;
no ``'`` is added (a workbook's cell is typed, unlike CSV's), so reading gives it back.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ctiserver.customers import DEFAULT_REGION
from ctiserver.spreadsheets.encodings import UnreadableFile, decode
from ctiserver.spreadsheets.model import FORMULA_STARTS, CustomerRows, ParsedFile, Refusal, parse_customers

#: a workbook starts like every zip file
SIGNATURE = b"PK\x03\x04"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the most a workbook's parts may unpack to, bytes (a 100,000-row customer sheet: ~40 MB)
MAX_UNPACKED = 512 * 1024 * 1024
#: the tightest packing accepted (unpacked / packed) for a part of more than 1 MB; XML of
#: real sheets packs 10-30 times, a zip bomb a thousand times
MAX_RATIO = 200
#: the most rows a sheet is read to (Excel's own limit is 1,048,576)
MAX_ROWS = 1_048_576
#: the most columns a row is read to (the header's columns and more would be ignored)
MAX_COLUMNS = 256


class DamagedSheet(UnreadableFile):
    """The sheet cannot be read past a row: the rows before it stand."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def is_workbook(data: bytes) -> bool:
    """True if the bytes are a zip file (an .xlsx), whatever the file was called."""
    return data.startswith(SIGNATURE)


def check_zip(data: bytes, limit: int = MAX_UNPACKED) -> None:
    """UnreadableFile unless the bytes are a zip whose parts unpack to at most ``limit``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UnreadableFile(f"the file is not a readable Excel workbook (.xlsx): {exc}") from None
    total = sum(part.file_size for part in parts)
    if total > limit:
        raise UnreadableFile(
            f"the workbook unpacks to more than the limit of {limit // (1024 * 1024)} MB: split it"
        )
    for part in parts:
        if part.file_size > 1024 * 1024 and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise UnreadableFile(f"the workbook's part {part.filename[:80]} is packed like a zip bomb: refused")


def text_of(value: object) -> str:
    """A cell's value as the text the CSV would hold: a whole number without ``.0``, a date
    as YYYY-MM-DD (with the time if it has one)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def sheet_rows(data: bytes, sheet: str | None = None, *, limit: int = MAX_UNPACKED) -> Iterator[tuple[int, list[str]]]:
    """(row number in the sheet, its cells as text) of the first sheet, or the one named;
    UnreadableFile if the workbook or the sheet cannot be read, or is too large."""
    check_zip(data, limit)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds for a damaged workbook)
        raise UnreadableFile(f"the file is not a readable Excel workbook (.xlsx): {_why(exc)}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            names = ", ".join(f'"{name}"' for name in book.sheetnames[:20])
            raise UnreadableFile(f'the workbook has no sheet "{sheet[:40]}" (its sheets: {names})')
        page = book[sheet] if sheet is not None else book.worksheets[0] if book.worksheets else None
        if page is None or not hasattr(page, "iter_rows"):
            raise UnreadableFile("the workbook has no worksheet")
        page.reset_dimensions()  # some writers record wrong ones: read what is there
        line = 0
        try:
            for line, values in enumerate(page.iter_rows(values_only=True, max_col=MAX_COLUMNS), 1):
                if line > MAX_ROWS:
                    raise UnreadableFile(f"the sheet has more than {MAX_ROWS} rows: split it")
                yield line, [text_of(value) for value in values]
        except UnreadableFile:
            raise
        except Exception as exc:  # noqa: BLE001  (a damaged sheet part, past the rows read)
            raise DamagedSheet(line + 1, Refusal("damaged_sheet", "the sheet cannot be read from here: {error}",
                                                 error=_why(exc))) from None
    finally:
        book.close()


def _why(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:200]


def parse_workbook(
    data: bytes, *, sheet: str | None = None, region: str = DEFAULT_REGION,
    catalogue: Mapping[str, str] | None = None, limit: int = MAX_UNPACKED,
) -> ParsedFile:
    """The customers of a sheet (the first, or the one named) checked as the CSV import
    checks a file's: its first non-empty row is the header; a row's line is its number in
    the sheet. A damaged sheet refuses the rows from where it cannot be read."""
    rows: CustomerRows | None = None
    reading = sheet_rows(data, sheet, limit=limit)
    try:
        for line, cells in reading:
            if rows is None:
                if any(cell.strip() for cell in cells):
                    try:
                        rows = CustomerRows(cells, region=region, catalogue=catalogue)
                    except UnreadableFile as exc:
                        raise UnreadableFile(str(exc).replace("line 1:", f"line {line}:", 1)) from None
                continue
            reason = rows.check(line, cells)
            if reason is not None:
                rows.refuse(line, reason)
    except DamagedSheet as exc:
        if rows is None:
            raise
        rows.refuse(exc.line, exc.reason)
    if rows is None:
        raise UnreadableFile("the sheet is empty")
    return rows.parsed


def read_customers(
    data: bytes, *, encoding: str | None = None, sheet: str | None = None, region: str = DEFAULT_REGION,
    catalogue: Mapping[str, str] | None = None, limit: int = MAX_UNPACKED,
) -> ParsedFile:
    """The customers of a file, a workbook or CSV, told by its first bytes (not its name)."""
    if is_workbook(data):
        return parse_workbook(data, sheet=sheet, region=region, catalogue=catalogue, limit=limit)
    return parse_customers(decode(data, encoding), region=region, catalogue=catalogue)


def _cell(sheet: Any, value: object) -> object:
    """A value for ``append``: text that would read as a formula typed as a string."""
    if isinstance(value, str):
        # characters XML 1.0 cannot hold (openpyxl refuses them) shown as U+FFFD
        text: str = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if text.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            return cell
        return text
    if value is None or isinstance(value, (int, float)):
        return value
    return str(value)


class SheetWriter:
    """One sheet written in write-only mode, rows appended as they come; ``save`` writes
    the workbook to a file (a path or a binary file object)."""

    def __init__(self, title: str) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title[:31])

    def append(self, rows: Iterable[Sequence[object]]) -> None:
        sheet = self._sheet
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])

    def save(self, target: str | IO[bytes]) -> None:
        self._book.save(target)


def workbook_bytes(title: str, rows: Iterable[Sequence[object]]) -> bytes:
    """A small table (a report) as the bytes of a one-sheet workbook."""
    writer = SheetWriter(title)
    writer.append(rows)
    out = io.BytesIO()
    writer.save(out)
    return out.getvalue()
