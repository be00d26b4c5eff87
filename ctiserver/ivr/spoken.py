"""What the IVR says of a ticket and of numbers, in Chinese and English, written out the way
a person says it, so that the synthesiser never reads "12/08 09:00" digit by digit: dates as
十二月八日 / Tuesday, December the eighth; times as 上午九点半 / half past nine in the morning;
a ticket number digit by digit (幺 for 1 in Chinese, as numbers are read on the phone).

Pure: no I/O; the words of ticket kinds and statuses are the pages' (screenpop/i18n.js).
"""

from __future__ import annotations

import datetime as dt

TYPE_WORDS: dict[str, tuple[str, str]] = {
    "repair": ("维修", "repair"),
    "complaint": ("投诉", "complaint"),
    "installation": ("安装", "installation"),
    "moving": ("移机", "moving"),
    "removal": ("拆机", "removal"),
    "inquiry": ("咨询", "inquiry"),
}
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "new": ("已受理，等待派单", "received, waiting to be dispatched"),
    "dispatched": ("已派单，等待预约上门时间", "dispatched, waiting for an appointment"),
    "scheduled": ("已预约", "scheduled"),
    "in_progress": ("正在处理", "in progress"),
    "waiting_customer": ("等待您的答复", "waiting for your answer"),
    "waiting_parts": ("等待配件", "waiting for parts"),
    "completed": ("已完工", "completed"),
    "return_visit": ("已完工，等待回访", "completed, waiting for a follow-up call"),
    "closed": ("已关闭", "closed"),
    "cancelled": ("已取消", "cancelled"),
    "reopened": ("已重新处理", "reopened"),
}

#: product categories as the catalogue and the IVR write them, in each language
PRODUCT_WORDS: tuple[tuple[str, str], ...] = (
    ("空调", "air conditioner"), ("洗衣机", "washing machine"), ("冰箱", "refrigerator"),
    ("热水器", "water heater"), ("电视", "television"), ("净水器", "water purifier"),
)

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_PHONE_DIGITS = "零幺二三四五六七八九"
_EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
               "nine": "ninth", "twelve": "twelfth"}
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ZH_DAYS = "一二三四五六日"


def zh_number(n: int) -> str:
    """0 <= n < 10000 in Chinese numerals: 10 十, 12 十二, 20 二十, 105 一百零五, 2026 二千零二十六."""
    if not 0 <= n < 10000:
        return str(n)
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + (_ZH_DIGITS[n - 10] if n > 10 else "")
    words, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            words += ("零" if zero and words else "") + _ZH_DIGITS[digit] + unit
            zero = False
        elif words:
            zero = True
    return words


def en_number(n: int) -> str:
    """0 <= n < 1000 in English words."""
    if not 0 <= n < 1000:
        return str(n)
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN_ONES[hundreds]} hundred" + (f" and {en_number(rest)}" if rest else "")


def en_ordinal(n: int) -> str:
    words = en_number(n)
    head, sep, last = words.rpartition("-")
    if last in _EN_ORDINAL:
        last = _EN_ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def spoken_digits(text: str, language: str) -> str:
    """A ticket or phone number read one digit at a time (letters and dashes left out)."""
    digits = [c for c in text if c.isascii() and c.isdigit()]
    if language == "zh":
        return "".join(_ZH_PHONE_DIGITS[int(c)] for c in digits)
    return " ".join(_EN_ONES[int(c)] for c in digits)


def _zh_time(moment: dt.datetime) -> str:
    hour, minute = moment.hour, moment.minute
    part = "凌晨" if hour < 6 else "上午" if hour < 12 else "中午" if hour < 13 else "下午" if hour < 18 else "晚上"
    twelve = hour if hour <= 12 else hour - 12
    clock = "两" if twelve == 2 else zh_number(twelve)
    if minute == 0:
        return f"{part}{clock}点"
    if minute == 30:
        return f"{part}{clock}点半"
    return f"{part}{clock}点{zh_number(minute)}分"


def _en_time(moment: dt.datetime) -> str:
    hour, minute = moment.hour, moment.minute
    part = "in the morning" if hour < 12 else "in the afternoon" if hour < 18 else "in the evening"
    if hour == 12 and minute == 0:
        return "noon"
    twelve = hour % 12 or 12
    if minute == 0:
        return f"{en_number(twelve)} o'clock {part}"
    if minute == 30:
        return f"half past {en_number(twelve)} {part}"
    if minute < 10:
        return f"{en_number(twelve)} oh {en_number(minute)} {part}"
    return f"{en_number(twelve)} {en_number(minute)} {part}"


def _zh_day(day: dt.date, today: dt.date) -> str:
    relative = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    named = f"{zh_number(day.month)}月{zh_number(day.day)}日，星期{_ZH_DAYS[day.weekday()]}"
    if day.year != today.year:
        named = f"{''.join(_ZH_DIGITS[int(c)] for c in str(day.year))}年{named}"
    return f"{relative}，{named}" if relative else named


def _en_day(day: dt.date, today: dt.date) -> str:
    relative = {0: "today", 1: "tomorrow"}.get((day - today).days)
    named = f"{_EN_DAYS[day.weekday()]}, {_EN_MONTHS[day.month - 1]} the {en_ordinal(day.day)}"
    if day.year != today.year:
        named += f", {en_number(day.year // 100)} {en_number(day.year % 100)}"
    return f"{relative}, {named}" if relative else named


def spoken_window(start: dt.datetime, end: dt.datetime | None, language: str, today: dt.date) -> str:
    """An appointment window, in the time zone of ``start`` and ``end`` (the hotline's)."""
    if language == "zh":
        said = f"{_zh_day(start.date(), today)}，{_zh_time(start)}"
        if end is not None and end > start:
            said += f"到{'' if end.date() == start.date() else _zh_day(end.date(), today) + '，'}{_zh_time(end)}"
        return said
    said = f"{_en_day(start.date(), today)}, from {_en_time(start)}"
    if end is not None and end > start:
        other_day = "" if end.date() == start.date() else f"{_en_day(end.date(), today)}, "
        said += f" to {other_day}{_en_time(end)}"
    return said


def product_words(product: str, language: str) -> str:
    """A product (its category first, then its model) with the category in ``language``; the
    category as a word in either language or as the vocabulary's code (``washing_machine``)."""
    for zh, en in PRODUCT_WORDS:
        said = zh if language == "zh" else en
        for written in (zh, en, en.replace(" ", "_")):
            if product.lower().startswith(written):
                return said + product[len(written):]
    return product


def _words(table: dict[str, tuple[str, str]], code: str, language: str) -> str:
    pair = table.get(code)
    if pair is None:
        return code.replace("_", " ")
    return pair[0] if language == "zh" else pair[1]


def ticket_sentence(
    *, number: str, type: str, status: str, product: str | None, start: dt.datetime | None,
    end: dt.datetime | None, language: str, today: dt.date, ordinal: int = 1,
) -> str:
    """One ticket as the IVR says it: its kind, the last digits of its number, product, status and
    appointment window."""
    kind = _words(TYPE_WORDS, type, language)
    product = product_words(product, language) if product else None
    state = _words(STATUS_WORDS, status, language)
    # the number's last four digits tell the caller's tickets apart, and the whole is long to hear
    digits = spoken_digits(number[-4:], language)
    if language == "zh":
        said = f"第{zh_number(ordinal)}张工单，{kind}工单，单号尾号{digits}"
        said += f"，产品：{product}" if product else ""
        said += f"，状态：{state}"
        if start is not None:
            said += f"。预约上门时间：{spoken_window(start, end, language, today)}"
        return said + "。"
    said = f"Ticket {en_number(ordinal)}: a {kind} ticket, number ending {digits}"
    said += f", for your {product}" if product else ""
    said += f". Status: {state}"
    if start is not None:
        said += f". The engineer is booked for {spoken_window(start, end, language, today)}"
    return said + "."


#: the fixed sentences of the progress node, zh and en
PHRASES: dict[str, tuple[str, str]] = {
    "none": ("没有查到您未完成的工单。", "We found no open ticket for you."),
    "choices": ("确认预约请按1，改约其他时间请按2，人工服务请按0。",
                "To confirm this appointment press 1, for another time press 2, for an agent press 0."),
    "choices_no_window": ("人工服务请按0。", "For an agent press 0."),
    "more": ("听下一张工单请按9。", "For the next ticket press 9."),
    "confirmed": ("已为您确认预约，工程师将按时上门。",
                  "Your appointment is confirmed. The engineer will come as booked."),
    "time_requested": ("已记录您的改约请求，网点工作人员会尽快与您联系。",
                       "We have passed on your request for another time. The branch will call you soon."),
    "agent": ("正在为您转接人工服务。", "Putting you through to an agent."),
    "invalid": ("输入有误。", "Invalid choice."),
}


def phrase(name: str, language: str) -> str:
    zh, en = PHRASES[name]
    return zh if language == "zh" else en


def count_sentence(count: int, language: str) -> str:
    if language == "zh":
        return f"您有{zh_number(count) if count != 2 else '两'}张未完成的工单。"
    return f"You have {en_number(count)} open ticket{'s' if count != 1 else ''}."
