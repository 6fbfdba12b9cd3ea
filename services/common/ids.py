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
    u = dt.astimezone(UTC)
    # the year by hand: strftime("%Y") does not pad years before 1000 on every platform (glibc)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"


def now_iso() -> str:
    return iso(utcnow())
