"""The exports' column headers and words in the pages' languages (zh, en), as the reports'
spreadsheets say theirs (ctiserver/reports/labels.py): ``headers=labels`` (the default) names
each column in ``lang`` and says the contact center's codes in the cells (ticket types,
statuses, departments, queues, customer levels, product categories) as the pages do;
``headers=codes`` keeps the column codes and the cells' codes, the stable form for
integrations.

The customers' labels are headers the import reads (``model.HEADERS``), and the words it
reads back (levels, categories: ``category_codes``), so that an exported file imported again
adds nothing, in either language (tests/unit/test_export_labels.py)."""

from __future__ import annotations

from collections.abc import Sequence

from ctiserver.resources import page_vocabulary

LANGUAGES = ("zh", "en")
HEADER_FORMS = ("labels", "codes")

#: every export's columns: code -> (zh, en)
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "customers": {
        "customer_id": ("客户编号", "Customer ID"),
        "name": ("姓名", "Name"),
        "phone": ("电话", "Phone"),
        "province": ("省份", "Province"),
        "city": ("城市", "City"),
        "district": ("区县", "District"),
        "street": ("街道", "Street"),
        "address_detail": ("详细地址", "Address"),
        "level": ("客户级别", "Level"),
        "category": ("产品类别", "Category"),
        "model": ("产品型号", "Model"),
        "serial": ("序列号", "Serial"),
        "installed_on": ("安装日期", "Installed on"),
        "created_at": ("创建时间", "Created at"),
    },
    "tickets": {
        "number": ("工单号", "Ticket number"),
        "type": ("类型", "Type"),
        "status": ("状态", "Status"),
        "urgency": ("紧急程度", "Urgency"),
        "department": ("部门", "Department"),
        "branch_id": ("网点编号", "Branch ID"),
        "summary": ("摘要", "Summary"),
        "customer_id": ("客户编号", "Customer ID"),
        "customer": ("客户", "Customer"),
        "product_serial": ("产品序列号", "Product serial"),
        "call_id": ("通话编号", "Call ID"),
        "source": ("来源", "Source"),
        "created_at": ("创建时间", "Created at"),
        "updated_at": ("更新时间", "Updated at"),
        "due_at": ("处理时限", "Due at"),
        "responded_at": ("响应时间", "Responded at"),
        "completed_at": ("完工时间", "Completed at"),
        "closed_at": ("关闭时间", "Closed at"),
        "escalation_level": ("升级级别", "Escalation level"),
    },
    "calls": {
        "call_id": ("通话编号", "Call ID"),
        "caller_number": ("主叫号码", "Caller number"),
        "caller_name": ("主叫姓名", "Caller name"),
        "customer_id": ("客户编号", "Customer ID"),
        "queue": ("队列", "Queue"),
        "agent": ("坐席", "Agent"),
        "started_at": ("开始时间", "Started at"),
        "answered_at": ("接听时间", "Answered at"),
        "ended_at": ("结束时间", "Ended at"),
        "wait_seconds": ("等待（秒）", "Wait (s)"),
        "duration_seconds": ("时长（秒）", "Duration (s)"),
        "hangup_cause": ("挂机原因", "Hang-up cause"),
    },
}
#: columns whose cells are the contact center's codes -> the pages' vocabulary prefix
#: (screenpop/i18n.js ``VOCABULARY``)
WORD_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {"level": "level", "category": "category"},
    "tickets": {"type": "type", "status": "tstatus", "department": "dept"},
    "calls": {"queue": "queue"},
}
#: words the vocabulary has no prefix for: export -> column -> code -> (zh, en)
OWN_WORDS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "tickets": {
        "urgency": {"normal": ("普通", "Normal"), "urgent": ("紧急", "Urgent")},
        "source": {"ivr": ("语音导航", "IVR"), "agent": ("坐席", "Agent")},
    },
}


def _index(lang: str) -> int:
    return LANGUAGES.index(lang) if lang in LANGUAGES else 0


def column_labels(what: str, header: Sequence[str], lang: str) -> list[str]:
    """``header``'s codes as the page in ``lang`` names them (a code without a label as it is)."""
    index, table = _index(lang), COLUMNS[what]
    return [table[code][index] if code in table else code for code in header]


def cell_words(what: str, header: Sequence[str], rows: Sequence[Sequence[object]], lang: str) -> list[list[object]]:
    """``rows`` with the codes in the word columns said in ``lang`` (a code without a word as it is)."""
    index, vocabulary = _index(lang), page_vocabulary()
    words = {code: vocabulary.get(prefix, {}) for code, prefix in WORD_COLUMNS.get(what, {}).items()}
    words.update(OWN_WORDS.get(what, {}))
    columns = {i: words[code] for i, code in enumerate(header) if code in words}
    said: list[list[object]] = []
    for row in rows:
        cells = list(row)
        for i, table in columns.items():
            value = cells[i]
            if isinstance(value, str) and value in table:
                cells[i] = table[value][index]
        said.append(cells)
    return said


def category_codes() -> dict[str, str]:
    """The product categories' words in either language (case folded) -> their codes: the
    import reads a category as the export wrote it."""
    found = page_vocabulary().get("category", {})
    return {word.casefold(): code for code, words in found.items() for word in words}
