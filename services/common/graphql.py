"""GraphQL building blocks every subgraph shares (DESIGN.md §2): Relay-style connections over the
Store's keyset pages, typed user errors in mutation payloads, money, and the request context.

Types that appear in several subgraphs (PageInfo, UserError, Money) are `@shareable` and defined
once here so that their definitions cannot drift apart between subgraphs."""
from __future__ import annotations

import decimal
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from .errors import ConflictError, DuplicateKeyError, InvalidFilterError, NotFoundError
from .store.base import MAX_PAGE, Page

T = TypeVar("T")
DEFAULT_PAGE = 20
MAX_PAGE_SIZE = 100  # what a client may ask for in one page (the store allows more internally)


@strawberry.federation.type(shareable=True, description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        default=None, description="Number of matching records (all pages)."
    )


@strawberry.enum(description="Why a mutation did not apply. Nothing was changed.")
class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    DUPLICATE = "DUPLICATE"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    NOT_ALLOWED = "NOT_ALLOWED"


@strawberry.federation.type(shareable=True, description="A problem with the input of a mutation.")
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        default=None, description="Path of the offending input field, e.g. [\"input\", \"amount\"]."
    )


@strawberry.federation.type(shareable=True, description="An amount of money in one currency.")
class Money:
    amount: decimal.Decimal = strawberry.field(description="Decimal amount, e.g. \"125000.00\".")
    currency: str = strawberry.field(description="ISO 4217 code.")

    @staticmethod
    def from_minor(minor: int | None, currency: str | None) -> "Money | None":
        if minor is None or not currency:
            return None
        return Money(amount=(decimal.Decimal(int(minor)) / 100).quantize(decimal.Decimal("0.01")), currency=currency)


class InputError(Exception):
    """Raised by domain code for a bad input; becomes a UserError in the payload."""

    def __init__(self, code: ErrorCode, message: str, field: list[str] | None = None):
        super().__init__(message)
        self.error = UserError(code=code, message=message, field=field)


def user_errors(exc: Exception) -> list[UserError]:
    """Map a domain or store exception to typed user errors; anything else propagates."""
    if isinstance(exc, InputError):
        return [exc.error]
    if isinstance(exc, ConflictError):
        return [UserError(code=ErrorCode.CONFLICT, message=(
            f"the record changed since you read it (now at version {exc.actual}); reload and retry"
            if exc.actual is not None else "the record changed or was deleted since you read it"),
            field=["input", "expectedVersion"])]
    if isinstance(exc, NotFoundError):
        return [UserError(code=ErrorCode.NOT_FOUND, message=f"{exc.collection.rstrip('s')} {exc.id} does not exist",
                          field=["input", "id"])]
    if isinstance(exc, DuplicateKeyError):
        return [UserError(code=ErrorCode.DUPLICATE, message=str(exc))]
    raise exc


CURRENCY_DIGITS = 2


def parse_money(value: decimal.Decimal | None, currency: str | None, field: str) -> tuple[int | None, str | None]:
    """Validate a decimal amount + ISO currency; store as integer minor units (no float drift)."""
    if value is None:
        return None, None
    if not isinstance(value, decimal.Decimal) or not value.is_finite():
        raise InputError(ErrorCode.INVALID, "amount must be a finite decimal number", ["input", field])
    if value < 0:
        raise InputError(ErrorCode.INVALID, "amount must not be negative", ["input", field])
    if value.as_tuple().exponent < -CURRENCY_DIGITS:  # type: ignore[operator]
        raise InputError(ErrorCode.INVALID, "amount has more than 2 decimal places", ["input", field])
    if value >= decimal.Decimal(10) ** 13:
        raise InputError(ErrorCode.INVALID, "amount is too large", ["input", field])
    cur = (currency or "").strip().upper()
    if len(cur) != 3 or not cur.isalpha():
        raise InputError(ErrorCode.INVALID, "currency must be an ISO 4217 code such as EUR", ["input", "currency"])
    return int(value * 100), cur


def clean_text(value: str | None, field: str, *, required: bool = False, max_len: int = 200) -> str | None:
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


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise PublicError(f"`first` must be between 0 and {MAX_PAGE_SIZE}")
    return first


def to_connection(page: Page, convert: Callable[[dict[str, Any]], T], total: int | None = None) -> Connection[T]:
    return Connection(
        edges=[Edge(cursor=c, node=convert(d)) for c, d in zip(page.cursors, page.items)],
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=total,
    )


async def paginate(store, coll: str, flt: dict, sort, first: int | None, after: str | None,
                   convert: Callable[[dict[str, Any]], T], *, with_total: bool = True) -> Connection[T]:
    try:
        page = await store.find(coll, flt, sort=sort, first=page_size(first), after=after)
    except InvalidFilterError as exc:
        raise PublicError(f"invalid cursor or filter: {exc}") from None
    total = await store.count(coll, flt) if with_total else None
    return to_connection(page, convert, total)


def ctx(info: Info) -> Any:
    return info.context


assert MAX_PAGE_SIZE <= MAX_PAGE


class PublicError(ValueError):
    """An error whose message is safe and useful to show the client (bad argument, cursor...).
    Every other exception inside a resolver is masked (logged with a reference, never shown)."""
