"""The reports' column headers in the pages' languages (zh, en), for the spreadsheets
(``format=csv``/``xlsx``): the same words as the page's table (screenpop/i18n.js, ``rp.col.*``
and ``rpb.col.*``; tests/unit/test_report_labels.py keeps the two equal). ``headers=codes``
gives the column codes instead, the stable form for integrations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ctiserver.resources import page_vocabulary

LANGUAGES = ("zh", "en")

#: the call-center reports' columns (queues, agents, hours, days): code -> (zh, en)
CALL_COLUMNS: dict[str, tuple[str, str]] = {
    "agent": ("成员接口", "Member interface"),
    "name": ("坐席", "Agent"),
    "extension": ("分机", "Extension"),
    "queue": ("队列", "Queue"),
    "day": ("日期", "Day"),
    "weekday": ("星期", "Weekday"),
    "hour": ("小时", "Hour"),
    "offered": ("来电", "Offered"),
    "answered": ("接起", "Answered"),
    "abandoned": ("放弃", "Abandoned"),
    "short_abandoned": ("短时放弃", "Short abandons"),
    "unanswered": ("未接离队", "Unanswered"),
    "answered_in_sl": ("服务水平内接起", "Answered in SL"),
    "service_level": ("服务水平 %", "Service level %"),
    "average_answer_seconds": ("平均应答等待（秒）", "ASA (s)"),
    "average_abandon_seconds": ("平均放弃等待（秒）", "Avg abandon wait (s)"),
    "longest_answer_wait": ("最长应答等待（秒）", "Longest answer wait (s)"),
    "longest_wait": ("最长等待（秒）", "Longest wait (s)"),
    "completed": ("结束通话", "Completed"),
    "average_talk_seconds": ("平均通话（秒）", "Avg talk (s)"),
    "transfers": ("转接", "Transfers"),
    "callbacks_owed": ("待回电", "Callbacks owed"),
    "callbacks_made": ("已回电", "Callbacks made"),
    "callbacks_connected": ("回电接通", "Callbacks connected"),
    "talk_seconds": ("通话（秒）", "Talk (s)"),
    "average_handle_seconds": ("平均处理时长（秒）", "AHT (s)"),
    "ready_seconds": ("就绪（秒）", "Ready (s)"),
    "ringing_seconds": ("振铃（秒）", "Ringing (s)"),
    "on_call_seconds": ("通话中（秒）", "On call (s)"),
    "wrap_up_seconds": ("话后整理（秒）", "Wrap-up (s)"),
    "paused_seconds": ("暂停（秒）", "Paused (s)"),
    "logged_in_seconds": ("登录（秒）", "Logged in (s)"),
    "occupancy": ("占用率 %", "Occupancy %"),
    "utilisation": ("利用率 %", "Utilisation %"),
}
#: "pause:<reason>": a pause reason's seconds
PAUSE_COLUMN = ("暂停：{reason}", "Paused: {reason}")
#: ctiserver.vocabulary.PAUSE_REASONS, as the pages say them ("" is a pause without a reason)
PAUSE_REASONS: dict[str, tuple[str, str]] = {
    "lunch": ("午餐", "Lunch"),
    "training": ("培训", "Training"),
    "after_call_work": ("话后工作", "After-call work"),
    "meeting": ("会议", "Meeting"),
    "other": ("其他", "Other"),
    "": ("未注明原因", "no reason given"),
}
#: the business reports' columns: code -> (zh, en)
BUSINESS_COLUMNS: dict[str, tuple[str, str]] = {
    "kind": ("类型", "Kind"),
    "status": ("状态", "Status"),
    "department": ("部门", "Department"),
    "tickets": ("工单", "Tickets"),
    "by": ("维度", "By"),
    "key": ("项目", "Item"),
    "complaints": ("投诉", "Complaints"),
    "installed": ("在用产品", "Installed"),
    "per_thousand": ("每千台投诉", "Per thousand"),
    "repairs": ("维修工单", "Repairs"),
    "share": ("占比 %", "Share %"),
    "about": ("投诉对象", "About"),
    "branch": ("网点", "Branch"),
    "completed": ("已完成", "Completed"),
    "average_hours": ("平均（小时）", "Average (h)"),
    "median_hours": ("中位数（小时）", "Median (h)"),
    "longest_hours": ("最长（小时）", "Longest (h)"),
    "breached": ("超出 SLA", "Past SLA"),
    "breach_rate": ("超时率 %", "Breach rate %"),
    "first_contact": ("首次解决", "First contact"),
    "rate": ("首次解决率 %", "FCR %"),
    "surveys": ("通话评价数", "Surveys"),
    "survey_average": ("通话评价均分", "Survey average"),
    "visits": ("回访评分数", "Return visits"),
    "visit_average": ("回访均分", "Visit average"),
    "scores": ("评分合计", "Scores"),
    "average_score": ("平均分", "Average score"),
    "survey_satisfied": ("通话评价满意率 %", "Survey satisfied %"),
    "visit_satisfied": ("回访满意率 %", "Visit satisfied %"),
    "satisfied": ("满意率 %", "Satisfied %"),
}


def column_labels(header: Sequence[str], lang: str, business: bool = False) -> list[str]:
    """``header``'s codes as the page in ``lang`` says them (a code without a label as it is)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0
    table = BUSINESS_COLUMNS if business else CALL_COLUMNS
    labels = []
    for code in header:
        if not business and code.startswith("pause:"):
            reason = code.removeprefix("pause:")
            said = PAUSE_REASONS.get(reason)
            labels.append(PAUSE_COLUMN[index].format(reason=said[index] if said else reason))
        else:
            labels.append(table[code][index] if code in table else code)
    return labels


#: columns whose cells are the contact center's words: column -> the pages' vocabulary prefix
#: (screenpop/i18n.js ``VOCABULARY``); the page's tables say them alike (reports.js ``WORD_COLUMNS``)
WORD_COLUMNS = {
    "queue": "queue", "kind": "type", "status": "tstatus", "department": "dept", "about": "tchoice", "by": "rpb.by",
}
#: the total row's key
ALL = "(all)"
ALL_WORDS = ("全部", "All")
#: an empty key (no region, no part...)
NONE_WORDS = ("（无）", "(none)")
def cell_words(header: Sequence[str], rows: Iterable[Sequence[object]], lang: str) -> list[list[object]]:
    """``rows`` with the vocabulary's codes in the columns of ``WORD_COLUMNS`` said in ``lang``,
    as the page shows them (a code without a word as it is)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0
    vocabulary = page_vocabulary()
    columns = {i: vocabulary.get(WORD_COLUMNS[code], {}) for i, code in enumerate(header) if code in WORD_COLUMNS}
    by = header.index("by") if "by" in header else None
    key = header.index("key") if "key" in header else None
    said: list[list[object]] = []
    for row in rows:
        cells = list(row)
        if key is not None:
            # a key is a department's code when counted by department
            words = vocabulary.get("dept", {}) if by is not None and cells[by] == "department" else {}
            columns[key] = words
        for i, words in columns.items():
            value = cells[i]
            if value == ALL:
                cells[i] = ALL_WORDS[index]
            elif value == "" and header[i] != "by":
                cells[i] = NONE_WORDS[index]
            elif isinstance(value, str) and value in words:
                cells[i] = words[value][index]
        said.append(cells)
    return said
