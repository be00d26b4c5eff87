"""Phone numbers as callers type them and as Asterisk delivers them, reduced to one key.

Customer records hold numbers like ``+86 138-0013-8000``, ``(010) 6552 8899`` or
``+852 9123 4567``; Asterisk gives ``13800138000``, ``013800138000`` or
``8613800138000`` for the same mainland phone depending on the trunk, and
``00852...`` or ``+852...`` for one abroad. The numbering plans are Google's
libphonenumber metadata (the ``phonenumbers`` package), which follows their changes.

The key screen pop matches on (``customer_phones.normalized``):

* a number of the hotline's own region (``hotline.region``, CN by default): its
  national form, digits only (mobiles ``13800138000``, landlines with the trunk prefix
  ``01065528899``, 400/800 lines ``4008001234``), the form keys had before this module
  used phonenumbers, so rows keep matching;
* a number of any other country: E.164, ``+85291234567``;
* text that is no number of any plan (an extension, a short code): its digits.

A change of region changes the keys: recompute them (see migration 0009).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

DEFAULT_REGION = "CN"
#: longest key: "+" and the 15 digits E.164 allows, with room for junk digits
MAX_KEY = 32


def known_region(region: str) -> bool:
    """A two-letter region phonenumbers has numbering plans for (``CN``, ``HK``, ``US``...)."""
    return region in phonenumbers.SUPPORTED_REGIONS


def parse_phone(text: str, region: str = DEFAULT_REGION) -> PhoneNumber | None:
    """The number ``text`` denotes when dialled from ``region``; None if it is none.

    Besides the forms phonenumbers reads (``+``, the region's international prefix ``00``,
    the trunk prefix ``0``, the country code without ``+`` in front of a valid number),
    digits that are no valid number of the region but are one with a ``+`` in front
    (``85291234567`` from a trunk that drops the ``+``) are read as international.
    """
    raw = text.strip()
    if not raw or len(raw) > 64:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    digits = re.sub(r"\D", "", raw)
    if not phonenumbers.is_valid_number(number) and not raw.startswith(("+", "0")) and digits:
        try:
            international = phonenumbers.parse("+" + digits, None)
        except NumberParseException:
            return number
        if phonenumbers.is_valid_number(international):
            return international
    return number


def is_valid_phone(text: str, region: str = DEFAULT_REGION) -> bool:
    """A number that exists in its country's numbering plan."""
    number = parse_phone(text, region)
    return number is not None and phonenumbers.is_valid_number(number)


def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """The matching key of ``text`` (see the module docstring); "" for text without digits."""
    number = parse_phone(text, region)
    if number is None:
        return re.sub(r"\D", "", text)[:MAX_KEY]
    if number.country_code == phonenumbers.country_code_for_region(region):
        if phonenumbers.is_valid_number(number):
            return re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        # no number of the plan (an extension, a short code): its digits as written
        return re.sub(r"\D", "", text)[:MAX_KEY] if not text.strip().startswith(("+", "00")) else str(
            number.national_number
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
