"""Phone numbers as callers type them and as Asterisk delivers them, reduced to one form.

Customer records hold numbers like ``+86 138-0013-8000`` or ``(010) 6552 8899``;
Asterisk gives ``13800138000``, ``013800138000`` or ``8613800138000`` for the same
phone depending on the trunk. Screen pop matches on the national form computed here:
digits only, no country code, mobiles without a trunk-prefix ``0``, landlines with it.
"""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[3-9]\d{9}")
#: national numbers that are dialled without the trunk prefix 0 (400/800 lines)
_NON_GEOGRAPHIC = re.compile(r"[48]00\d{7}")


def normalize_phone(text: str) -> str:
    """The national, digits-only form of a Chinese number; anything else just loses punctuation."""
    raw = text.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+86"):
        return _national(digits[2:])
    if digits.startswith("0086"):
        return _national(digits[4:])
    # without "+" or "00", a leading 86 is only a country code in front of a mobile
    if digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        return digits[2:]
    if digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return digits[1:]
    return digits


def _national(significant: str) -> str:
    """Number after the country code (maybe with a stray "(0)") -> national form."""
    significant = significant.lstrip("0")
    if not significant or _MOBILE.fullmatch(significant) or _NON_GEOGRAPHIC.fullmatch(significant):
        return significant
    return "0" + significant
