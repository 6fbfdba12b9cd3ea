"""The request context every resolver gets: the principal, its row scopes (services/common/authz.py),
per-request DataLoaders, scoped lookups and the audit record of a change."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from .audit import audit_event, diff
from .auth import Principal
from .authz import ALL_ROWS, matches, narrow
from .envelope import Envelope
from .errors import ErrorCode, InputError, InvalidFilterError, NotFoundError, PublicError
from .graphql import Connection, page_size, paginate, to_connection
from .settings import Settings
from .store import Store
from .values import all_of

if TYPE_CHECKING:
    from .service import Service

T = TypeVar("T")


@dataclass
class Context:
    service: Service
    request: Any
    response: Any
    principal: Principal
    loaders: dict[str, Any] = field(default_factory=dict)
    scopes: dict[str, dict] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.service.store

    @property
    def settings(self) -> Settings:
        return self.service.settings

    # ---- row scopes ----------------------------------------------------------------------
    def scope(self, coll: str) -> dict:
        """The filter this request's reads of `coll` are confined to ({} = every row)."""
        if coll not in self.scopes:
            self.scopes[coll] = self.service.row_scope(self.principal, coll)
        return self.scopes[coll]

    def scoped(self, coll: str, flt: dict | None = None) -> dict:
        return narrow(self.scope(coll), flt)

    def visible(self, coll: str, doc: dict | None) -> bool:
        return doc is not None and matches(doc, self.scope(coll))

    async def get(self, coll: str, id: str) -> dict | None:
        """A document by id if this principal may see it, else None (exactly as if absent)."""
        doc = await self.by_id(coll).load(str(id))
        return doc if self.visible(coll, doc) else None

    async def one(self, coll: str, id: Any, convert: Callable[[dict], T]) -> T | None:
        """Load-or-None: the visible document `id` of `coll` converted to its GraphQL type."""
        if id is None:
            return None
        doc = await self.get(coll, str(id))
        return convert(doc) if doc else None

    async def stub(self, coll: str, id: Any, entity: Callable[..., T]) -> T | None:
        """The reference to an entity another subgraph owns (`Company(id=…)`), or None where the
        local replica `coll` says this principal may not see it: the owner would answer null,
        and null for a whole stub is an answer, where null for its non-null fields is an error."""
        if not id:
            return None
        if self.scope(coll) == ALL_ROWS or await self.get(coll, str(id)) is not None:
            return entity(id=id)
        return None

    async def referenced(
        self, coll: str, id: Any, what: str, field: str, code: ErrorCode = ErrorCode.UNKNOWN_REFERENCE
    ) -> dict:
        """The document a mutation's input names, if this principal may see it. A hidden record
        gets the very error of a missing one ("company X does not exist"), so the answer tells
        nothing about it."""
        doc = await self.get(coll, str(id))
        if doc is None:
            raise InputError(code, f"{what} {id} does not exist", ["input", field])
        return doc

    def guarded(self, coll: str, fn: Callable[[dict], dict | None]) -> Callable[[dict], dict | None]:
        """Wrap a `store.mutate` function: a record outside the principal's scope is treated as
        absent, checked inside the write on the very version being changed."""

        def apply(d: dict) -> dict | None:
            if not self.visible(coll, d):
                raise NotFoundError(coll, d["id"])
            return fn(d)

        return apply

    async def page(
        self, coll: str, flt: dict, sort: list, first: int | None, after: str | None, convert: Callable[[dict], T]
    ) -> Connection[T]:
        """One page of `coll` matching `flt` within the principal's scope (the total too)."""
        return await paginate(self.store, coll, self.scoped(coll, flt), sort, first, after, convert)

    async def page_of(
        self,
        coll: str,
        key: str,
        parent: str,
        flt: dict | None,
        sort: list,
        first: int | None,
        after: str | None,
        convert: Callable[[dict], T],
    ) -> Connection[T]:
        """`page(coll, {key: parent} AND flt, ...)` for a field of an entity (a company's deals):
        the first pages of all the entities of a request (an `_entities` batch, a list page) are
        read together, one query and one grouped count for all (Store.first_pages); a later
        page (`after`) is read on its own."""
        if after:
            return await self.page(coll, all_of({key: parent}, flt), sort, first, after, convert)
        size = page_size(first)
        name = f"pages:{coll}:{key}:{size}:{json.dumps([flt, sort], sort_keys=True, default=str)}"
        store, scoped = self.store, self.scoped(coll, flt)

        async def load(parents: list[str]) -> list[Connection[T]]:
            try:
                pages = await store.first_pages(coll, key, parents, scoped, sort=sort, first=size)
            except InvalidFilterError as exc:
                raise PublicError(f"invalid cursor or filter: {exc}") from None
            rows = await store.group(coll, [key], flt=all_of({key: {"$in": parents}}, scoped))
            totals = {str(r["key"][key]): r["count"] for r in rows}
            return [to_connection(pages[p], convert, totals.get(p, 0)) for p in parents]

        return await self.loader(name, lambda: DataLoader(load_fn=load)).load(str(parent))

    async def create(self, coll: str, entity: str, body: dict, events: Sequence[Envelope] = ()) -> dict:
        """Insert `body` with its events and its audit record, in one write."""
        audit = self.audit("created", entity, body["id"], diff(None, body))
        return await self.store.insert(coll, body, events=[*events, audit])

    async def update(
        self,
        coll: str,
        entity: str,
        id: Any,
        fn: Callable[[dict], dict | None],
        *,
        expected_version: int | None,
        events: Callable[[dict, dict], list[Envelope]] | None = None,
    ) -> dict:
        """Change a record the principal may see, at the version the client read, with the
        change's events and its audit record in the same write. The scope is checked first, so a
        record out of scope answers NOT_FOUND exactly as a missing one does, whatever version the
        client sends (and again inside the write, `guarded`, on the version being changed)."""
        await self.referenced(coll, id, entity.lower(), "id", code=ErrorCode.NOT_FOUND)

        def all_events(old: dict, new: dict) -> list[Envelope]:
            own = list(events(old, new)) if events else []
            return [*own, self.audit("updated", entity, new["id"], diff(old, new))]

        return await self.store.mutate(
            coll, str(id), self.guarded(coll, fn), expected_version=expected_version, events=all_events
        )

    def audit(self, action: str, entity: str, entity_id: str, changes: dict | None = None) -> Envelope:
        """The audit record of a change, to pass in the same `events=[...]` as the change itself:
        it is written in the same single-document write (outbox), so it cannot be lost."""
        return audit_event(self.service.name, self.principal, action, entity, entity_id, changes)

    # ---- DataLoaders -----------------------------------------------------------------------
    def by_id(self, coll: str) -> DataLoader:
        """A per-request DataLoader of documents of `coll` by id (None where absent). Unscoped:
        resolvers use `get()`, which applies the row scope."""
        store = self.store

        async def load(ids: list[str]) -> list[dict | None]:
            found = await store.get_many(coll, ids)
            return [found.get(i) for i in ids]

        return self.loader(f"id:{coll}", lambda: DataLoader(load_fn=load))

    def loader(self, key: str, factory: Callable[[], DataLoader]) -> DataLoader:
        """One DataLoader per request and key (batches N entity lookups into one query)."""
        if key not in self.loaders:
            self.loaders[key] = factory()
        return self.loaders[key]
