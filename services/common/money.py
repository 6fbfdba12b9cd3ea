"""Money as integer minor units, scaled by one table: the ISO 4217 minor-unit digits of each
currency, as CLDR publishes them through Babel (EUR 2, JPY 0, KWD 3...). Every conversion between
a decimal amount and stored minor units goes through this module, so there is one rounding rule:
an amount with more digits than its currency has is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision, is_currency

from .errors import ErrorCode, InputError

MAX_AMOUNT = Decimal(10) ** 13  # per amount; keeps every sum far inside a 64-bit integer


def is_iso_currency(code: str) -> bool:
    """An ISO 4217 code (upper case) that CLDR knows."""
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper() and is_currency(code)


def digits(currency: str) -> int:
    """Minor-unit digits of `currency` (2 for codes CLDR does not list)."""
    return get_currency_precision(currency)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact: `amount` must not have more decimals than the currency has."""
    return int(amount.scaleb(digits(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    d = digits(currency)
    return Decimal(int(minor)).scaleb(-d).quantize(Decimal(1).scaleb(-d))


def label(minor: int | None, currency: str | None) -> str:
    """`250,000.00 EUR` for human-readable texts (timeline titles); "" without an amount."""
    if minor is None or not currency:
        return ""
    return f"{from_minor(minor, currency):,} {currency}"


def parse_currency(currency: str | None, field: str = "currency") -> str:
    cur = (currency or "").strip().upper()
    if not is_iso_currency(cur):
        raise InputError(ErrorCode.INVALID, "currency must be an ISO 4217 code such as EUR", ["input", field])
    return cur


def parse_money(value: Decimal | None, currency: str | None, field: str) -> tuple[int | None, str | None]:
    """Validate a decimal amount + ISO currency; return (minor units, currency) for storage."""
    if value is None:
        return None, None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputError(ErrorCode.INVALID, "amount must be a finite decimal number", ["input", field])
    if value < 0:
        raise InputError(ErrorCode.INVALID, "amount must not be negative", ["input", field])
    if value >= MAX_AMOUNT:
        raise InputError(ErrorCode.INVALID, "amount is too large", ["input", field])
    cur = parse_currency(currency)
    places = digits(cur)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < -places:
        raise InputError(ErrorCode.INVALID, f"amount has more than {places} decimal places for {cur}", ["input", field])
    return to_minor(value, cur), cur
