"""Plain conversions of input and stored values shared by every service (no GraphQL import):
text clean-up, e-mail addresses, timestamps, ISO dates, and building store filters from optional
clauses."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from email_validator import EmailNotValidError, validate_email

from .errors import ErrorCode, InputError
from .ids import iso

# Refused in text: control characters (white space is folded instead), bidirectional overrides
# and isolates (they make "Acme" display as something else), zero-width characters (they make two
# equal-looking names differ) and lone surrogates.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)


def clean_text(value: str | None, field: str, *, required: bool = False, max_len: int = 200) -> str | None:
    """Text as stored: Unicode NFC, runs of white space folded to one space, ends trimmed;
    control, bidi-override, zero-width and surrogate characters refused; `required` refuses None
    and ""."""
    if value is None:
        if required:
            raise InputError(ErrorCode.INVALID, f"{field} is required", ["input", field])
        return None
    bad = _FORBIDDEN.search(value)
    if bad:
        raise InputError(
            ErrorCode.INVALID,
            f"{field} contains a control or invisible character (U+{ord(bad.group()):04X})",
            ["input", field],
        )
    v = " ".join(unicodedata.normalize("NFC", value).split())
    if required and not v:
        raise InputError(ErrorCode.INVALID, f"{field} must not be empty", ["input", field])
    if len(v) > max_len:
        raise InputError(ErrorCode.INVALID, f"{field} is longer than {max_len} characters", ["input", field])
    return v


def parse_ts(value: str | None) -> dt.datetime | None:
    """A stored timestamp (fixed-width ISO-8601 UTC, see `ids.iso`) back to a datetime."""
    return dt.datetime.fromisoformat(value) if value else None


# The range of every date and time a client may give (docs/architecture.md): wide enough for any
# business date, narrow enough that every stored value sorts, converts and prints the same way.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def ts_input(value: dt.datetime | None, field: str) -> str | None:
    """A client-supplied timestamp: must carry a time zone and lie in [EARLIEST, LATEST]; stored
    as fixed-width UTC (`ids.iso`), which sorts as it compares."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InputError(ErrorCode.INVALID, f"{field} needs a time zone (e.g. 2026-05-01T09:00:00Z)", ["input", field])
    try:
        utc = value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise InputError(
            ErrorCode.INVALID, f"{field} must lie between {EARLIEST.date()} and {LATEST.date()} (UTC)", ["input", field]
        )
    return iso(utc)


def date_input(value: dt.date | None, field: str) -> str | None:
    """A client-supplied date in [EARLIEST, LATEST], stored as ISO `YYYY-MM-DD`."""
    if value is None:
        return None
    if not EARLIEST.date() <= value <= LATEST.date():
        raise InputError(
            ErrorCode.INVALID, f"{field} must lie between {EARLIEST.date()} and {LATEST.date()}", ["input", field]
        )
    return value.isoformat()


def parse_date(value: str | None) -> dt.date | None:
    """A stored ISO date (`2026-05-01`) back to a date."""
    return dt.date.fromisoformat(value) if value else None


def all_of(*clauses: dict | None) -> dict:
    """The AND of the clauses given (None and {} are left out): {} for none, the clause itself
    for one, `{"$and": [...]}` for more."""
    kept = [c for c in clauses if c]
    if not kept:
        return {}
    return kept[0] if len(kept) == 1 else {"$and": kept}


def equal(pairs: Iterable[tuple[str, Any]]) -> list[dict]:
    """`{field: str(value)}` for each pair whose value is set (a filter input's optional fields)."""
    return [{k: str(v)} for k, v in pairs if v]


def pick(doc: dict, *keys: str) -> dict:
    """`{key: doc.get(key)}` for the keys named (event payloads: the fields a contract publishes)."""
    return {k: doc.get(k) for k in keys}


def email(value: str | None) -> str | None:
    """A cleaned e-mail address, or None for none."""
    v = clean_text(value, "email", max_len=254)
    if not v:
        return None
    try:  # syntax only (RFC 5322/6531 via email-validator); deliverability needs DNS, not done here
        return validate_email(v, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InputError(ErrorCode.INVALID, f"{v!r} is not an e-mail address: {exc}", ["input", "email"]) from None
