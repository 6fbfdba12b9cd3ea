"""Typed errors of the shared kernel. Plain Python (no GraphQL import), so that domain rules can
raise them and be unit-tested without a server; `services/common/graphql.py` turns them into
the typed `UserError`s of mutation payloads in one place (`payload_errors`)."""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """Why a mutation did not apply (published as the GraphQL enum `ErrorCode`)."""

    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    DUPLICATE = "DUPLICATE"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    NOT_ALLOWED = "NOT_ALLOWED"
    OFFER_BLOCKED = "OFFER_BLOCKED"  # deals: a new offer to a client in CRITICAL health


class InputError(Exception):
    """A bad input, found by a domain rule or a resolver: becomes a `UserError` in the payload
    and nothing is changed."""

    def __init__(self, code: ErrorCode, message: str, field: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class PublicError(ValueError):
    """An error whose message is safe and useful to show the client (bad argument, cursor...).
    Every other exception inside a resolver is masked (logged with a reference, never shown)."""


class StoreError(Exception):
    """Base class of every error the Store port raises."""


class NotFoundError(StoreError):
    def __init__(self, collection: str, id: str):
        super().__init__(f"{collection}/{id} does not exist")
        self.collection, self.id = collection, id


class ConflictError(StoreError):
    """Optimistic concurrency: the document changed since the caller read it."""

    def __init__(self, collection: str, id: str, expected: int, actual: int | None):
        super().__init__(f"{collection}/{id} is at version {actual}, the write expected version {expected}")
        self.collection, self.id, self.expected, self.actual = collection, id, expected, actual


class DuplicateKeyError(StoreError):
    def __init__(self, collection: str, detail: str = ""):
        super().__init__(f"duplicate key in {collection}{': ' + detail if detail else ''}")
        self.collection = collection


class InvalidFilterError(StoreError):
    """A filter, sort or cursor outside the documented subset."""


class AlreadyApplied(StoreError):
    """The event passed to an update was applied to this document before (idempotent consumers)."""
