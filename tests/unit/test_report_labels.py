"""The reports' spreadsheet headers (ctiserver/reports/labels.py) say each column as the page
does (screenpop/i18n.js ``rp.col.*``, ``rpb.col.*``, the pause reasons), in both languages, and
every column of every report has its label."""

from __future__ import annotations

import re
from pathlib import Path

from ctiserver import vocabulary
from ctiserver.reports.labels import (
    ALL_WORDS,
    BUSINESS_COLUMNS,
    CALL_COLUMNS,
    NONE_WORDS,
    PAUSE_COLUMN,
    PAUSE_REASONS,
    WORD_COLUMNS,
    cell_words,
    column_labels,
    page_vocabulary,
)
from ctiserver.reports.model import AGENT_FIGURES, DAY_FIGURES, QUEUE_FIGURES
from ctiserver.reports.model.business import BUSINESS_COLUMNS as BUSINESS_CODES
from ctiserver.reports.service import HOUR_FIGURES

I18N = (Path(__file__).resolve().parents[2] / "screenpop" / "i18n.js").read_text(encoding="utf-8")


def page_words(prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """The page's ``prefix.*`` strings: (zh, en), code -> text."""
    zh, en = I18N[I18N.index("  zh: {"):I18N.index("  en: {")], I18N[I18N.index("  en: {"):]
    pattern = re.compile(r'"' + re.escape(prefix) + r'\.([a-z_]+)": "([^"]*)"')
    return dict(pattern.findall(zh)), dict(pattern.findall(en))


def test_the_spreadsheets_say_the_pages_words() -> None:
    for prefix, table in (("rp.col", {**CALL_COLUMNS, "pause": PAUSE_COLUMN}), ("rpb.col", BUSINESS_COLUMNS)):
        zh, en = page_words(prefix)
        assert {code: said[0] for code, said in table.items()} == zh
        assert {code: said[1] for code, said in table.items()} == en
    vocabulary_block = I18N[I18N.index("  reason: {"):I18N.index("},", I18N.index("  reason: {"))]
    page_reasons = {code: (a, b) for code, a, b in re.findall(r'(\w+): \["([^"]*)", "([^"]*)"\]', vocabulary_block)}
    assert {c: w for c, w in PAUSE_REASONS.items() if c} == page_reasons
    assert set(page_reasons) == set(vocabulary.PAUSE_REASONS)


def test_every_column_has_a_label() -> None:
    columns = {"queue", "name", "extension", "agent", "day", "weekday", "hour",
               *QUEUE_FIGURES, *AGENT_FIGURES, *DAY_FIGURES, *HOUR_FIGURES}
    assert columns <= set(CALL_COLUMNS)
    assert {c for codes in BUSINESS_CODES.values() for c in codes} <= set(BUSINESS_COLUMNS)
    assert column_labels(["answered", "pause:lunch", "pause:"], "zh") == ["接起", "暂停：午餐", "暂停：未注明原因"]
    assert column_labels(["answered", "pause:lunch"], "en") == ["Answered", "Paused: Lunch"]
    assert column_labels(["kind", "tickets"], "zh", business=True) == ["类型", "工单"]


def test_the_cells_say_the_vocabulary_as_the_page_does() -> None:
    vocabulary_words = page_vocabulary()
    assert set(WORD_COLUMNS.values()) <= set(vocabulary_words)
    assert vocabulary_words["queue"]["support"] == ("咨询服务", "Enquiries")
    zh_all, en_all = page_words("rp")
    assert (zh_all["all"], en_all["all"]) == ALL_WORDS
    zh_rpb, en_rpb = page_words("rpb")
    assert (zh_rpb["none"], en_rpb["none"]) == NONE_WORDS
    header = ["by", "key", "tickets"]
    rows = [["department", "repair", 3], ["region", "", 1], ["model", "(all)", 4], ["model", "KFR-35GW", 2]]
    assert cell_words(header, rows, "zh") == [
        ["按部门", "维修部", 3], ["按地区", "（无）", 1], ["按型号", "全部", 4], ["按型号", "KFR-35GW", 2]]
    assert cell_words(["queue", "offered"], [["support", 1], ["night", 2]], "en") == [["Enquiries", 1], ["night", 2]]
