"""A refused row's reason keeps its code and values, so that the import page says it in its
language (screenpop/i18n.js ``imp.why.<code>``, each code in both languages); the English
text stays the command line's and the API's ``reason``."""

from __future__ import annotations

import re
from pathlib import Path

from ctiserver.spreadsheets.model import Refusal, parse_customers

ROOT = Path(__file__).resolve().parents[2]
I18N = (ROOT / "screenpop" / "i18n.js").read_text(encoding="utf-8")


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "ctiserver" / "spreadsheets").glob("*.py"):
        found |= set(re.findall(r'Refusal\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    return found


def test_every_refusal_is_said_in_both_languages() -> None:
    codes = codes_in_source()
    assert {"invalid_phone", "missing_name", "duplicate_serial", "serial_taken", "damaged_sheet"} <= codes
    zh, en = I18N[I18N.index("  zh: {"):I18N.index("  en: {")], I18N[I18N.index("  en: {"):]
    for part in (zh, en):
        said = set(re.findall(r'"imp\.why\.([a-z_]+)"', part))
        assert codes - said == set()


def test_refused_rows_keep_their_code_and_values() -> None:
    text = "姓名,电话,型号,序列号\n张伟,12345,,\n,13800138000,,\n李娜,13912345678,KFR-35GW,SN1\n王芳,13500001111,KFR-35GW,SN1\n"
    problems = parse_customers(text).problems
    reasons = [p.reason for p in problems]
    assert [(p.line, r.code, r.params) for p, r in zip(problems, reasons, strict=True) if isinstance(r, Refusal)] == [
        (2, "invalid_phone", {"number": "12345"}),
        (3, "missing_name", {}),
        (5, "duplicate_serial", {"serial": "SN1", "line": "4"}),
    ]
    assert reasons == ['invalid phone "12345"', "missing name", 'duplicate: serial "SN1" is on line 4']
