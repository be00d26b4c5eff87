"""Customer CSV files read and checked, row by row, with no I/O: what the import adds is
decided by the store; which rows are refused, and why, is decided here.

A file has a header row naming its columns in English or Chinese (``name``/``姓名``,
``phone``/``电话``...); its encoding is named or found (``encodings``). One row per
product owned: the rows of one customer share a phone and the name. A cell holds several
phones separated by ``;`` or ``；``. Every cell is what someone typed: it is checked (no
control characters, no longer than its column) and never reaches a shell, a path or HTML.
Every row is imported or refused with its line: a cell of any size or content refuses
its row, never the rest of the file.

The exports write the import's columns with cells that would start a formula defused by
a leading ``'``; the import takes that ``'`` off again, so exporting and importing is the
identity.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ctiserver.customers import DEFAULT_REGION, is_valid_phone, normalize_phone
from ctiserver.spreadsheets.encodings import UnreadableFile, decode

__all__ = ["UnreadableFile", "decode"]

#: column -> the headers that name it (compared without case, spaces, "_" or "-"), in
#: simplified and traditional Chinese (files from Taiwan and Hong Kong)
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "customer", "customername", "姓名", "客户", "客户姓名", "客户名称", "名称", "用户姓名",
             "客戶", "客戶姓名", "客戶名稱", "名稱", "用戶姓名"),
    "phone": ("phone", "phones", "tel", "telephone", "mobile", "电话", "手机", "手机号", "手机号码",
              "电话号码", "联系电话", "联系方式", "電話", "手機", "手機號", "手機號碼", "電話號碼", "聯繫電話",
              "聯絡電話", "聯繫方式", "聯絡方式"),
    "province": ("province", "省", "省份"),
    "city": ("city", "市", "城市"),
    "district": ("district", "区", "区县", "县区", "区/县", "區", "區縣", "縣區", "區/縣"),
    "street": ("street", "街道", "街道/乡镇", "街道/鄉鎮"),
    "address_detail": ("addressdetail", "address", "详细地址", "地址", "詳細地址"),
    "level": ("level", "级别", "客户级别", "等级", "客户等级", "級別", "客戶級別", "等級", "客戶等級"),
    "model": ("model", "型号", "产品型号", "型號", "產品型號"),
    "serial": ("serial", "serialnumber", "sn", "序列号", "产品序列号", "条码", "机身编号", "序列號", "產品序列號",
               "條碼", "機身編號"),
    "installed_on": ("installedon", "installdate", "installationdate", "安装日期", "安装时间", "安裝日期",
                     "安裝時間"),
    "category": ("category", "品类", "类别", "产品类别", "品類", "類別", "產品類別"),
}
REQUIRED = ("name", "phone")
#: column -> its longest value (the table's column length)
LONGEST = {
    "name": 100, "province": 64, "city": 64, "district": 64, "street": 128, "address_detail": 255,
    "model": 64, "serial": 64, "category": 64,
}
LEVELS = {"normal": "normal", "普通": "normal", "一般": "normal", "vip": "vip", "贵宾": "vip", "重要": "vip"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
PHONE_SEPARATORS = re.compile(r"[;；]")
MAX_PHONE = 64
#: the longest cell of any column, the ones the import does not read included
MAX_CELL = 4096
#: control characters a cell may not hold (tab, CR and LF may: a quoted cell spans lines)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Refusal(str):
    """Why a row is refused: the English text (the command line's, the API's ``reason``), which
    also keeps a code and the values in it, so that a page says it in its own language
    (screenpop/i18n.js ``imp.why.<code>``)."""

    code: str
    params: dict[str, str]

    def __new__(cls, code: str, text: str, **params: str) -> Refusal:
        refusal = super().__new__(cls, text.format(**params))
        refusal.code, refusal.params = code, params
        return refusal


@dataclass(frozen=True)
class Problem:
    """A refused row: its line in the file (the header is line 1) and why."""

    line: int
    reason: str

    def text(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ProductLine:
    model: str
    category: str
    serial: str | None
    installed_on: dt.date | None


@dataclass(frozen=True)
class CustomerLine:
    """A row that passed every check: one customer, maybe one product."""

    line: int
    name: str
    #: (number as written, its key), in the order of the cell, no key twice
    phones: tuple[tuple[str, str], ...]
    level: str
    address: Mapping[str, str | None]
    product: ProductLine | None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for _, key in self.phones)


@dataclass
class ParsedFile:
    rows: list[CustomerLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text.strip().lstrip("\ufeff")).lower()


_ALIASES = {_header_key(alias): column for column, aliases in HEADERS.items() for alias in aliases}


def columns(header: list[str]) -> dict[str, int]:
    """Column name -> its index in the row; UnreadableFile if a required one is missing."""
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        column = _ALIASES.get(_header_key(text))
        if column is not None and column not in found:
            found[column] = index
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise UnreadableFile(f"line 1: no column {' or '.join(missing)} in the header")
    return found


def parse_date(text: str) -> dt.date | None:
    """A date as people write it (2021-06-12, 2021/6/12, 20210612, 2021年6月12日); None if not."""
    text = text.strip().split(" ")[0]  # Excel may add " 0:00"
    for form in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


class _Seen:
    """Customers and products met earlier in the file, for its duplicates."""

    def __init__(self) -> None:
        self.customer_of: dict[tuple[str, str], int] = {}
        self.serial_line: dict[str, int] = {}
        self.product_line: dict[tuple[int, str], int] = {}

    def customer(self, row: CustomerLine) -> int:
        """The file's customer of the row: an earlier row of that name sharing a phone."""
        found = next((self.customer_of[(row.name, k)] for k in row.keys if (row.name, k) in self.customer_of), None)
        ident = row.line if found is None else found
        for key in row.keys:
            self.customer_of.setdefault((row.name, key), ident)
        return ident

    def duplicate(self, row: CustomerLine) -> str | None:
        ident = self.customer(row)
        product = row.product
        if product is None:
            return None
        if product.serial is not None:
            earlier = self.serial_line.setdefault(product.serial.casefold(), row.line)
            return None if earlier == row.line else Refusal(
                "duplicate_serial", 'duplicate: serial "{serial}" is on line {line}', serial=product.serial,
                line=str(earlier))
        earlier = self.product_line.setdefault((ident, product.model.casefold()), row.line)
        if earlier != row.line:
            return Refusal("duplicate_product", 'duplicate: this customer\'s "{model}" is on line {line}',
                           model=product.model, line=str(earlier))
        return None


class CustomerRows:
    """Rows checked one at a time, whatever file they come from (CSV or a workbook's
    sheet): the header names the columns, each row is kept or refused by its line."""

    def __init__(
        self, header: list[str], *, region: str = DEFAULT_REGION, catalogue: Mapping[str, str] | None = None
    ) -> None:
        self.parsed = ParsedFile()
        self._where = columns(header)
        self._region = region
        self._known = {model.casefold(): (model, category) for model, category in (catalogue or {}).items()}
        self._seen = _Seen()

    def check(self, line: int, cells: list[str]) -> str | None:
        """Keep the row of ``line``, or the reason it is refused (not yet in the problems:
        ``refuse`` adds it); None for a kept or empty row. Cells are as the user wrote them."""
        if not any(cell.strip() for cell in cells):
            return None
        reason = _cells(cells)
        row = None
        if reason is None:
            values = {column: cells[i].strip() if i < len(cells) else "" for column, i in self._where.items()}
            row, reason = _row(line, values, self._region, self._known)
        if row is not None:
            reason = self._seen.duplicate(row)
        if reason is None and row is not None:
            self.parsed.rows.append(row)
        return reason

    def refuse(self, line: int, reason: str) -> None:
        self.parsed.problems.append(Problem(line, reason))


def parse_customers(
    text: str, *, region: str = DEFAULT_REGION, catalogue: Mapping[str, str] | None = None
) -> ParsedFile:
    """Every row of the file, checked; ``catalogue``: model -> category of the models sold
    (when it holds any, a product of another model is refused)."""
    # the csv module's own limit (128 KB a cell) would end the parse: the file's size
    # cannot be passed, and each cell is checked against MAX_CELL instead
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("the file is empty") from None
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from exc
    rows = CustomerRows(header, region=region, catalogue=catalogue)
    line = 2  # where the next record starts
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the rest of the file cannot be read
            rows.refuse(line, Refusal("unreadable_csv", "unreadable CSV: {error}", error=str(exc)))
            break
        reason = rows.check(line, [undefuse(cell) for cell in cells])
        if reason is not None:
            if reader.line_num > line:  # every line of the file is in the report
                reason = Refusal(
                    "open_quote", "{reason} (the row runs from line {first} to line {last}: is a quote left open?)",
                    reason=reason, first=str(line), last=str(reader.line_num),
                    **({"inner": reason.code, **reason.params} if isinstance(reason, Refusal) else {}))
            rows.refuse(line, reason)
        line = reader.line_num + 1
    return rows.parsed


def _cells(cells: list[str]) -> str | None:
    """Why a row is refused whatever its columns: a control character, a cell too long."""
    for index, cell in enumerate(cells, 1):
        bad = CONTROL.search(cell)
        if bad is not None:
            return Refusal("control_character", "control character {character} in column {column}",
                           character=f"U+{ord(bad.group()):04X}", column=str(index))
        if len(cell) > MAX_CELL:
            return Refusal("cell_too_long", "column {column} longer than {longest} characters ({length})",
                           column=str(index), longest=str(MAX_CELL), length=str(len(cell)))
    return None


def _row(
    line: int, values: dict[str, str], region: str, known: Mapping[str, tuple[str, str]]
) -> tuple[CustomerLine | None, str | None]:
    for column, longest in LONGEST.items():
        if len(values.get(column, "")) > longest:
            return None, Refusal("too_long", "{column} longer than {longest} characters", column=column,
                                 longest=str(longest))
    if not values["name"]:
        return None, Refusal("missing_name", "missing name")
    phones, reason = _phones(values["phone"], region)
    if reason is not None:
        return None, reason
    level = LEVELS.get(values.get("level", "").casefold() or "normal")
    if level is None:
        return None, Refusal("unknown_level", 'unknown level "{level}"', level=values["level"])
    product, reason = _product(values, known)
    if reason is not None:
        return None, reason
    address = {c: values.get(c) or None for c in ("province", "city", "district", "street", "address_detail")}
    return CustomerLine(line, values["name"], phones, level, address, product), None


def _phones(cell: str, region: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    numbers = [n.strip() for n in PHONE_SEPARATORS.split(cell) if n.strip()]
    if not numbers:
        return (), Refusal("missing_phone", "missing phone")
    phones: dict[str, str] = {}
    for number in numbers:
        if len(number) > MAX_PHONE or not is_valid_phone(number, region):
            return (), Refusal("invalid_phone", 'invalid phone "{number}"', number=number[:MAX_PHONE])
        phones.setdefault(normalize_phone(number, region), number)
    return tuple((number, key) for key, number in phones.items()), None


def _product(
    values: dict[str, str], known: Mapping[str, tuple[str, str]]
) -> tuple[ProductLine | None, str | None]:
    model, serial, installed = values.get("model", ""), values.get("serial", ""), values.get("installed_on", "")
    if not (model or serial or installed):
        return None, None
    if not model:
        return None, Refusal("missing_model", "missing model")
    category = values.get("category", "")
    if known:
        entry = known.get(model.casefold())
        if entry is None:
            return None, Refusal("unknown_model", 'unknown model "{model}"', model=model)
        model, category = entry
    date = parse_date(installed) if installed else None
    if installed and date is None:
        return None, Refusal("bad_date", 'bad date "{date}"', date=installed)
    return ProductLine(model, category, serial or None, date), None


#: a cell a spreadsheet would read as a formula starts with one of these (Excel and WPS
#: read the full-width signs a Chinese input method types as the ASCII ones)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _defused(text: str) -> bool:
    """True if ``text`` is a cell ``defuse`` gave its leading ``'``."""
    return text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS)


def defuse(value: object) -> str:
    """A cell for a CSV opened in Excel: text that would start a formula gets a leading '.

    So does text made of quotes before a formula sign (``'=1``), so that ``undefuse``
    gives back every cell as it was."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def undefuse(cell: str) -> str:
    """The cell ``defuse`` was given: the ``'`` before a formula sign taken off."""
    return cell[1:] if _defused(cell) else cell


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text (CRLF line ends, as Excel writes), every cell defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([defuse(cell) for cell in row])
    return out.getvalue()
