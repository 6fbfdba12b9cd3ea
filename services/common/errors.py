"""Typed errors raised by the shared ports. Services translate them into GraphQL user errors."""


class StoreError(Exception):
    """Base class of every error the Store port raises."""


class NotFoundError(StoreError):
    def __init__(self, collection: str, id: str):
        super().__init__(f"{collection}/{id} does not exist")
        self.collection, self.id = collection, id


class ConflictError(StoreError):
    """Optimistic concurrency: the document changed since the caller read it."""

    def __init__(self, collection: str, id: str, expected: int, actual: int | None):
        super().__init__(
            f"{collection}/{id} is at version {actual}, the write expected version {expected}"
        )
        self.collection, self.id, self.expected, self.actual = collection, id, expected, actual


class DuplicateKeyError(StoreError):
    def __init__(self, collection: str, detail: str = ""):
        super().__init__(f"duplicate key in {collection}{': ' + detail if detail else ''}")
        self.collection = collection


class InvalidFilterError(StoreError):
    """A filter, sort or cursor outside the documented subset."""


class AlreadyApplied(StoreError):
    """The event passed to an update was applied to this document before (idempotent consumers)."""
