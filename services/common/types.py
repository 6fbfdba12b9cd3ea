"""Small conversions shared by the subgraphs."""
from __future__ import annotations

import datetime as dt

from .graphql import ErrorCode, InputError
from .ids import iso


def parse_ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def ts_input(value: dt.datetime | None, field: str) -> str | None:
    """A client-supplied timestamp: must carry a time zone; stored as fixed-width UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InputError(ErrorCode.INVALID, f"{field} needs a time zone (e.g. 2026-05-01T09:00:00Z)", ["input", field])
    return iso(value)


def parse_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None
