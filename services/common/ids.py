from datetime import UTC, datetime

from ulid import ULID


def new_id() -> str:
    """A ULID: sortable by creation time, unique without coordination, tenant-independent."""
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """Timestamps are stored as fixed-width ISO-8601 UTC strings so that they sort the same way
    in SQLite (text) and MongoDB, and compare correctly in filters."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return iso(utcnow())
