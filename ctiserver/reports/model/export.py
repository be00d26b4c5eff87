"""Reports as CSV for spreadsheets: UTF-8 with a BOM (Excel reads it as UTF-8), and
text cells that a spreadsheet would take for a formula defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: a cell starting with one of these is a formula to a spreadsheet (CSV injection); Excel
#: and WPS read the full-width signs a Chinese input method types as the ASCII ones
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def defuse(value: object) -> object:
    """A text cell that a spreadsheet would evaluate, prefixed with ``'``; numbers as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell(value: object) -> object:
    """A cell as written: ``None`` empty, a whole float without ``.0`` (as a page shows
    JSON numbers), text defused."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return defuse(value)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The CSV (BOM first, CRLF lines) of ``cell`` values."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([defuse(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
