"""Phone keys through phonenumbers: every form Asterisk and people write of one number
gives one key, for mainland numbers as before and for Hong Kong, Taiwan and abroad."""

from __future__ import annotations

import pytest

from ctiserver.customers.phones import is_valid_phone, known_region, normalize_phone

SAME_NUMBER = {
    "13800138000": ("13800138000", "013800138000", "8613800138000", "+8613800138000",
                    "008613800138000", "+86 138-0013-8000", "138 0013 8000"),
    "01065528899": ("(010) 6552 8899", "010-65528899", "+86 10 6552 8899", "+86 (0)10 6552 8899",
                    "0086 10 65528899", "8601065528899"),
    "075512345678": ("0755-1234 5678", "+86 755 1234 5678"),
    "4008001234": ("4008001234", "400-800-1234", "+86 400 800 1234"),
    "+85291234567": ("+852 9123 4567", "0085291234567", "00852 9123-4567", "85291234567"),
    "+886912345678": ("+886 912 345 678", "00886912345678", "+886 (0)912-345-678"),
    "+16502530000": ("+1 650 253 0000", "0016502530000", "+1 (650) 253-0000"),
    "+442079460958": ("+44 20 7946 0958", "0044 20 7946 0958"),
}


@pytest.mark.parametrize(("key", "forms"), SAME_NUMBER.items())
def test_every_form_of_a_number_has_one_key(key: str, forms: tuple[str, ...]) -> None:
    assert {form: normalize_phone(form) for form in forms} == dict.fromkeys(forms, key)


def test_text_that_is_no_number_keeps_its_digits() -> None:
    assert normalize_phone("99999") == "99999"
    assert normalize_phone("01234") == "01234"
    assert normalize_phone("12-34") == "1234"
    assert normalize_phone("no number") == ""
    assert normalize_phone("   ") == ""


def test_the_region_decides_how_numbers_without_a_country_code_are_read() -> None:
    assert normalize_phone("9123 4567", "HK") == "91234567"
    assert normalize_phone("+852 9123 4567", "HK") == "91234567"
    assert normalize_phone("+86 138 0013 8000", "HK") == "+8613800138000"


def test_validity_and_regions() -> None:
    assert is_valid_phone("13800138000") and is_valid_phone("+852 9123 4567")
    assert not is_valid_phone("12345") and not is_valid_phone("1380013800") and not is_valid_phone("电话")
    assert known_region("CN") and known_region("HK") and not known_region("XX")
