"""The product catalogue (``product_models``) for customer imports, and phone keys
recomputed with phonenumbers: numbers of other countries are keyed in E.164.

Revision ID: 0009_customer_import
Revises: 0008_recordings

The key is computed here, not imported from ctiserver.customers.phones, so that the
migration keeps meaning what it meant. The region is the hotline's default (CN); a hotline
elsewhere sets ``hotline.region`` and re-imports or re-keys its customers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op
from phonenumbers import NumberParseException, PhoneNumberFormat

revision: str = "0009_customer_import"
down_revision: str | None = "0008_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGION = "CN"
_phones = sa.table(
    "customer_phones", sa.column("id", sa.Integer), sa.column("number", sa.String),
    sa.column("normalized", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "product_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_product_models"),
        sa.UniqueConstraint("model", name="uq_product_models_model"),
    )
    _rekey(_key)


def downgrade() -> None:
    _rekey(_old_key)
    op.drop_table("product_models")


def _rekey(key: Callable[[str], str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_phones.c.id, _phones.c.number, _phones.c.normalized)).all()
    for row in rows:
        new = key(row.number)
        if new != row.normalized:
            connection.execute(sa.update(_phones).where(_phones.c.id == row.id).values(normalized=new))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)[:32]


def _key(text: str) -> str:
    """Numbers of the region: national form, digits only; others: E.164; not a number: digits."""
    raw = text.strip()
    try:
        number = phonenumbers.parse(raw, REGION) if raw and len(raw) <= 64 else None
    except NumberParseException:
        number = None
    if number is None:
        return _digits(text)
    if not phonenumbers.is_valid_number(number) and not raw.startswith(("+", "0")) and _digits(raw):
        try:
            international = phonenumbers.parse("+" + _digits(raw), None)
            if phonenumbers.is_valid_number(international):
                number = international
        except NumberParseException:
            pass
    if number.country_code == phonenumbers.country_code_for_region(REGION):
        if phonenumbers.is_valid_number(number):
            return _digits(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        return _digits(text) if not raw.startswith(("+", "00")) else str(number.national_number)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


_MOBILE = re.compile(r"1[3-9]\d{9}")
_NON_GEOGRAPHIC = re.compile(r"[48]00\d{7}")


def _old_key(text: str) -> str:
    """The key before this migration: China's rules by hand."""
    raw = text.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+86"):
        return _old_national(digits[2:])
    if digits.startswith("0086"):
        return _old_national(digits[4:])
    if digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        return digits[2:]
    if digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return digits[1:]
    return digits


def _old_national(significant: str) -> str:
    significant = significant.lstrip("0")
    if not significant or _MOBILE.fullmatch(significant) or _NON_GEOGRAPHIC.fullmatch(significant):
        return significant
    return "0" + significant
