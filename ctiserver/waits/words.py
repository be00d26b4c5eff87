"""What a waiting caller hears, in Chinese or English, numbers as words (``ctiserver.ivr``'s
spoken forms are not imported: a feature's words are its own)."""

from __future__ import annotations

from ctiserver.waits.model import WaitEstimate

_ZH = "零一二三四五六七八九"
_EN = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def zh_count(n: int) -> str:
    """1..999 as a Chinese count (两 for 2 before a measure word)."""
    if n == 2:
        return "两"
    if n < 10:
        return _ZH[n]
    if n < 20:
        return "十" + (_ZH[n - 10] if n > 10 else "")
    if n < 100:
        tens, ones = divmod(n, 10)
        return _ZH[tens] + "十" + (_ZH[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if not rest:
            tail = ""
        elif rest < 10:
            tail = "零" + _ZH[rest]
        else:
            tail = _ZH[rest // 10] + "十" + (_ZH[rest % 10] if rest % 10 else "")
        return _ZH[hundreds] + "百" + tail
    return str(n)


def zh_ordinal(n: int) -> str:
    return "第" + (zh_count(n) if n != 2 else "二")


def en_count(n: int) -> str:
    if n < 20:
        return _EN[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN[ones]}" if ones else "")
    return str(n)


def announcement(estimate: WaitEstimate, language: str) -> str:
    """The sentence: the position, then the estimate if there is one."""
    p, minutes = estimate.position, estimate.minutes
    if language == "zh":
        said = f"您现在排在{zh_ordinal(p)}位。"
        if minutes is not None:
            said += f"预计等待{'超过' if estimate.more_than else '约'}{zh_count(minutes)}分钟。"
        return said + "请您耐心等待。"
    said = f"You are number {en_count(p)} in the queue."
    if minutes is not None:
        unit = "minute" if minutes == 1 else "minutes"
        said += f" The expected wait is {'more than' if estimate.more_than else 'about'} {en_count(minutes)} {unit}."
    return said + " Thank you for waiting."
