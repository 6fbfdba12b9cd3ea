"""GraphQL building blocks every subgraph shares (docs/architecture.md): Relay-style connections
over the Store's keyset pages, typed user errors in mutation payloads (one error path:
`payload_errors`), and money.

Types that appear in several subgraphs (PageInfo, UserError, Money) are `@shareable` and defined
once here so that their definitions cannot drift apart between subgraphs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, Self, TypeVar

import strawberry

from . import errors, money
from .errors import ConflictError, DuplicateKeyError, InputError, InvalidFilterError, NotFoundError, PublicError
from .store.documents import MAX_PAGE, Page
from .values import parse_date, parse_ts

T = TypeVar("T")
DEFAULT_PAGE = 20
MAX_PAGE_SIZE = 100  # what a client may ask for in one page (the store allows more internally)
assert MAX_PAGE_SIZE <= MAX_PAGE

ErrorCode = strawberry.enum(errors.ErrorCode, description="Why a mutation did not apply. Nothing was changed.")

__all__ = [
    "Connection",
    "Edge",
    "EntityRef",
    "ErrorCode",
    "FromDoc",
    "InputError",
    "Money",
    "PageInfo",
    "PublicError",
    "UserError",
    "page_size",
    "paginate",
    "payload",
    "payload_errors",
    "to_connection",
    "user_errors",
]


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
    total_count: int | None = strawberry.field(default=None, description="Number of matching records (all pages).")


@strawberry.federation.type(shareable=True, description="A problem with the input of a mutation.")
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = strawberry.field(
        default=None, description='Path of the offending input field, e.g. ["input", "amount"].'
    )


@strawberry.federation.type(shareable=True, description="An amount of money in one currency.")
class Money:
    amount: decimal.Decimal = strawberry.field(description='Decimal amount, e.g. "125000.00".')
    currency: str = strawberry.field(description="ISO 4217 code.")

    @staticmethod
    def from_minor(minor: int | None, currency: str | None) -> Money | None:
        if minor is None or not currency:
            return None
        return Money(amount=money.from_minor(minor, currency), currency=currency)


def user_errors(exc: Exception) -> list[UserError]:
    """Map a domain or store exception to typed user errors; anything else propagates."""
    if isinstance(exc, InputError):
        return [UserError(code=exc.code, message=exc.message, field=exc.field)]
    if isinstance(exc, ConflictError):
        return [
            UserError(
                code=ErrorCode.CONFLICT,
                message=(
                    f"the record changed since you read it (now at version {exc.actual}); reload and retry"
                    if exc.actual is not None
                    else "the record changed or was deleted since you read it"
                ),
                field=["input", "expectedVersion"],
            )
        ]
    if isinstance(exc, NotFoundError):
        return [
            UserError(
                code=ErrorCode.NOT_FOUND,
                message=f"{singular(exc.collection)} {exc.id} does not exist",
                field=["input", "id"],
            )
        ]
    if isinstance(exc, DuplicateKeyError):
        return [UserError(code=ErrorCode.DUPLICATE, message=str(exc))]
    raise exc


def singular(collection: str) -> str:
    """ "companies" → "company", "deals" → "deal" (messages about one record of a collection)."""
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection.removesuffix("s")


def payload_errors(payload: type) -> Callable:
    """The one error path of mutations: a resolver decorated with `@payload_errors(XPayload)`
    returns `XPayload(errors=[...])` for a domain or store error (InputError, CONFLICT, NOT_FOUND,
    DUPLICATE) instead of raising; anything unexpected propagates and is masked with a reference.

        @strawberry.mutation(extensions=allow(ADMIN))
        @payload_errors(DealPayload)
        async def create_deal(self, info, input: CreateDealInput) -> DealPayload | None: ..."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def resolver(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                return payload(errors=user_errors(exc))

        return resolver

    return decorate


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise PublicError(f"`first` must be between 0 and {MAX_PAGE_SIZE}")
    return first


def to_connection(page: Page, convert: Callable[[dict[str, Any]], T], total: int | None = None) -> Connection[T]:
    return Connection(
        edges=[Edge(cursor=c, node=convert(d)) for c, d in zip(page.cursors, page.items, strict=True)],
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        total_count=total,
    )


async def paginate(
    store,
    coll: str,
    flt: dict,
    sort,
    first: int | None,
    after: str | None,
    convert: Callable[[dict[str, Any]], T],
    *,
    with_total: bool = True,
) -> Connection[T]:
    try:
        page = await store.find(coll, flt, sort=sort, first=page_size(first), after=after)
    except InvalidFilterError as exc:
        raise PublicError(f"invalid cursor or filter: {exc}") from None
    total = await store.count(coll, flt) if with_total else None
    return to_connection(page, convert, total)


# ---- converting stored documents to types ------------------------------------------------------
def _converter(tp: Any) -> Callable[[Any], Any]:
    """How a stored value becomes the value of a field typed `tp` (Optional/Private unwrapped)."""
    if typing.get_origin(tp) is typing.Annotated:  # strawberry.Private[...]
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # X | None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else tp
    if isinstance(tp, type) and issubclass(tp, Enum):
        return lambda v, enum=tp: None if v is None else enum(v)
    if tp is dt.datetime:
        return parse_ts
    if tp is dt.date:
        return parse_date
    return lambda v: v


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls) if f.init)


class FromDoc:
    """Mixin of the GraphQL types built from a stored document: `X.from_doc(doc)` fills each field
    from the document's field of the same name, converted by the field's type (an enum from its
    stored value, a datetime from the stored ISO-8601 string, a date from an ISO date). A type
    whose fields come from elsewhere in the document says so in `doc_fields`."""

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Self:
        values = {name: convert(doc.get(name)) for name, convert in _plan(cls)}
        values.update(cls.doc_fields(doc))
        return cls(**values)

    @classmethod
    def doc_fields(cls, doc: dict[str, Any]) -> dict[str, Any]:
        return {}


@strawberry.type
class EntityRef:
    """Base of the federation stubs a subgraph extends (`Company`, `Contact` owned elsewhere):
    the key, and a reference resolver that trusts the router (the owner checks the scope)."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Self:
        return cls(id=id)


def payload(name: str, **records: type) -> type:
    """A mutation payload type: each changed record (nullable, default null), then
    `errors: [UserError!]!`, as `@payload_errors` fills it.

        DealPayload = payload("DealPayload", deal=Deal)"""
    annotations: dict[str, Any] = {field: tp | None for field, tp in records.items()}
    annotations["errors"] = list[UserError]
    namespace = {
        "__annotations__": annotations,
        **dict.fromkeys(records),
        "errors": strawberry.field(default_factory=list),
    }
    return strawberry.type(type(name, (), namespace))
