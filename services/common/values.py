"""Plain conversions of input and stored values shared by every service (no GraphQL import):
text clean-up, timestamps, ISO dates, and building store filters from optional clauses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .errors import ErrorCode, InputError
from .ids import iso


def clean_text(value: str | None, field: str, *, required: bool = False, max_len: int = 200) -> str | None:
    """Runs of white space folded to one space, ends trimmed; `required` refuses None and ""."""
    if value is None:
        if required:
            raise InputError(ErrorCode.INVALID, f"{field} is required", ["input", field])
        return None
    v = " ".join(value.split())
    if required and not v:
        raise InputError(ErrorCode.INVALID, f"{field} must not be empty", ["input", field])
    if len(v) > max_len:
        raise InputError(ErrorCode.INVALID, f"{field} is longer than {max_len} characters", ["input", field])
    return v


def parse_ts(value: str | None) -> dt.datetime | None:
    """A stored timestamp (fixed-width ISO-8601 UTC, see `ids.iso`) back to a datetime."""
    return dt.datetime.fromisoformat(value) if value else None


def ts_input(value: dt.datetime | None, field: str) -> str | None:
    """A client-supplied timestamp: must carry a time zone; stored as fixed-width UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InputError(ErrorCode.INVALID, f"{field} needs a time zone (e.g. 2026-05-01T09:00:00Z)", ["input", field])
    return iso(value)


def parse_date(value: str | None) -> dt.date | None:
    """A stored ISO date (`2026-05-01`) back to a date."""
    return dt.date.fromisoformat(value) if value else None


def date_str(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


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
