"""One runtime for every service: store + bus + outbox relay + consumers, served by Starlette.

Routes: `/graphql` (the subgraph; GraphiQL in development), `/healthz` (process alive),
`/readyz` (store and bus answer), `/metrics` (Prometheus text format)."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import MaskErrors
from cross_web import HTTPException
from graphql import NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension

from .auth import AuthError, Principal, Verifier
from .authz import NO_ROWS, check_rules, matches, narrow
from .bus import Bus, open_bus
from .bus.memory import InMemoryBus
from .envelope import Envelope
from .errors import NotFoundError
from .graphql import ErrorCode, InputError, PublicError
from .logging import setup_logging
from .outbox import OutboxRelay, subscribe_idempotent
from .settings import Settings
from .store import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class Context:
    service: "Service"
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

    # ---- row scopes (services/common/authz.py) -------------------------------------------------
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

    async def referenced(self, coll: str, id, what: str, field: str,
                         code: ErrorCode = ErrorCode.UNKNOWN_REFERENCE) -> dict:
        """The document a mutation's input names, if this principal may see it. A hidden record
        gets the very error of a missing one ("company X does not exist"), so the answer tells
        nothing about it."""
        doc = await self.get(coll, str(id))
        if doc is None:
            raise InputError(code, f"{what} {id} does not exist", ["input", field])
        return doc

    def guarded(self, coll: str, fn):
        """Wrap a `store.mutate` function: a record outside the principal's scope is treated as
        absent, checked inside the write on the very version being changed."""
        def apply(d: dict) -> dict:
            if not self.visible(coll, d):
                raise NotFoundError(coll, d["id"])
            return fn(d)
        return apply

    def audit(self, action: str, entity: str, entity_id: str, changes: dict | None = None) -> Envelope:
        """The audit record of a change, to pass in the same `events=[...]` as the change itself:
        it is written in the same single-document write (outbox), so it cannot be lost."""
        return audit_event(self.service.name, self.principal, action, entity, entity_id, changes)

    def by_id(self, coll: str):
        """A per-request DataLoader of documents of `coll` by id (None where absent). Unscoped:
        resolvers use `get()`, which applies the row scope."""
        from strawberry.dataloader import DataLoader

        store = self.store

        async def load(ids: list[str]):
            found = await store.get_many(coll, ids)
            return [found.get(i) for i in ids]

        return self.loader(f"id:{coll}", lambda: DataLoader(load_fn=load))

    def loader(self, key: str, factory):
        """One DataLoader per request and key (batches N entity lookups into one query)."""
        if key not in self.loaders:
            self.loaders[key] = factory()
        return self.loaders[key]


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or error.path is None:
        return False  # syntax/validation/coercion errors are about the client's document
    if isinstance(original, (PublicError, GraphQLError)):
        return False
    ref = uuid.uuid4().hex[:12]
    log.error("resolver failed ref=%s path=%s", ref, ".".join(map(str, error.path)), exc_info=original)
    error.extensions = {**(error.extensions or {}), "code": "INTERNAL_SERVER_ERROR", "reference": ref}
    return True


class _GraphQLApp(GraphQL):
    def __init__(self, service: "Service", schema, **kw):
        super().__init__(schema, **kw)
        self.service = service

    async def get_context(self, request, response) -> Context:  # type: ignore[override]
        # the endpoint verified the token before the request reached strawberry
        return Context(self.service, request, response, principal=request.scope["turnkey.principal"])


def audit_event(service: str, principal: Principal | None, action: str, entity: str, entity_id: str,
                changes: dict | None = None) -> Envelope:
    return Envelope(f"audit.{service}.{action}", str(entity_id), {
        "service": service, "action": action, "entity": entity, "entity_id": str(entity_id),
        "actor": principal.describe() if principal else {"sub": "system", "role": "system"},
        "changes": changes or {},
    })


def diff(old: dict | None, new: dict | None) -> dict:
    """`{field: {"from": a, "to": b}}` for the public fields a write changed (audit log)."""
    old, new = old or {}, new or {}
    skip = {"version", "updated_at", "created_at"}
    keys = sorted(k for k in set(old) | set(new)
                  if not k.startswith("_") and not k.endswith("_key") and k not in skip)
    return {k: {"from": old.get(k), "to": new.get(k)} for k in keys if old.get(k) != new.get(k)}


class PortalIntrospectionGuard(SchemaExtension):
    """Outside development, partner and customer tokens cannot introspect the subgraph (nor read
    its SDL through `_service`), even when they reach it directly."""

    def on_operation(self):
        ec = self.execution_context
        principal = getattr(ec.context, "principal", None)
        if principal is not None and principal.is_portal and not ec.context.settings.development:
            ec.validation_rules = ec.validation_rules + (NoSchemaIntrospectionCustomRule, _NoServiceSDL)
        yield


class _NoServiceSDL(ValidationRule):
    def enter_field(self, node, *_):
        if node.name.value == "_service":
            self.report_error(GraphQLError("GraphQL introspection has been disabled", [node]))


class Subscription:
    def __init__(self, name: str, patterns: Sequence[str], handler):
        self.name, self.patterns, self.handler = name, list(patterns), handler


class Service:
    """Base class of the four services. Subclasses set `name`, build `schema()` and may override
    `setup()` (indexes, seed data) and `subscriptions()` (event consumers)."""

    name = "service"

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None, bus: Bus | None = None):
        self.settings = settings or Settings.from_env(self.name)
        self._store, self._bus = store, bus
        self._owns_store, self._owns_bus = store is None, bus is None
        self.relay: OutboxRelay | None = None
        self.registry = CollectorRegistry()
        self.requests = Counter("graphql_requests", "GraphQL HTTP requests", ["status"], registry=self.registry)
        self.latency = Histogram("graphql_request_seconds", "GraphQL request latency", registry=self.registry)
        self.events_in = Counter("events_consumed", "Events applied by consumers", ["type"], registry=self.registry)
        self.started = False
        self._verifier: Verifier | None = None
        self.app = self._build_app()

    # ---- to override --------------------------------------------------------------------
    def schema(self) -> strawberry.federation.Schema:
        raise NotImplementedError

    async def setup(self) -> None:
        """Create indexes, seed reference data (idempotent)."""

    def subscriptions(self) -> list[Subscription]:
        return []

    def row_scope(self, principal: Principal, coll: str) -> dict:
        """The filter `principal`'s reads of `coll` are confined to (authz.ALL_ROWS = every row,
        authz.NO_ROWS = none). Default: nothing — each service lists what each role may see."""
        return NO_ROWS

    # ---- runtime --------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        assert self._store is not None, "service not started"
        return self._store

    @property
    def bus(self) -> Bus:
        assert self._bus is not None, "service not started"
        return self._bus

    async def start(self) -> None:
        if self.started:
            return
        setup_logging(self.settings.log_level)
        if self._store is None:
            self._store = await open_store(self.settings)
        if self._bus is None:
            self._bus = await open_bus(self.settings)
        await self.setup()
        for sub in self.subscriptions():
            await subscribe_idempotent(
                self.bus, self.store, self.queue_name(sub), sub.patterns,
                self._counted(sub.handler), max_deliveries=self.settings.max_deliveries,
            )
        self.relay = OutboxRelay(self.store, self.bus, interval=self.settings.relay_interval)
        self.relay.start()
        self.started = True
        log.info("service=%s started store=%s bus=%s", self.name, type(self.store).__name__, type(self.bus).__name__)

    def queue_name(self, sub: Subscription) -> str:
        """Durable queue per consumer, namespaced by the exchange: `turnkey.deals.health`."""
        return f"{self.settings.exchange}.{self.name}.{sub.name}"

    def _counted(self, handler):
        async def wrapped(event: Envelope) -> None:
            await handler(event)
            self.events_in.labels(event.type).inc()
        return wrapped

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self._bus is not None:
            for sub in self.subscriptions():
                try:
                    await self._bus.unsubscribe(self.queue_name(sub))
                except Exception as exc:
                    log.warning("service=%s unsubscribe %s: %s", self.name, sub.name, exc)
        if self.relay is not None:
            await self.relay.stop()
            try:
                await self.relay.drain(timeout=5)
            except Exception as exc:  # the events stay in the outbox for the next start
                log.warning("service=%s outbox not drained at shutdown: %s", self.name, exc)
        if self._owns_bus and self._bus is not None and not isinstance(self._bus, InMemoryBus):
            await self._bus.close()
        if self._owns_store and self._store is not None:
            await self._store.close()
        if self._owns_store:
            self._store = None
        if self._owns_bus:
            self._bus = None

    # ---- HTTP -----------------------------------------------------------------------------
    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.settings)
        return self._verifier

    def _build_app(self) -> Starlette:
        schema = self.schema()
        check_rules(schema)
        self.graphql_schema = schema
        gql = _GraphQLApp(
            self, schema,
            graphql_ide="graphiql" if self.settings.env == "development" else None,
        )

        async def graphql_endpoint(request: Request):
            t0 = time.perf_counter()
            try:
                # a GET without a query is the IDE page (development) or 404/406: no data, no token
                if request.method != "GET" or "query" in request.query_params:
                    request.scope["turnkey.principal"] = await self.verifier.verify(request.headers.get("authorization"))
                response = await gql.run(request)
            except AuthError as exc:
                response = JSONResponse({"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
                                        status_code=401, headers={"WWW-Authenticate": "Bearer"})
            except HTTPException as exc:
                response = PlainTextResponse(exc.reason, status_code=exc.status_code)
            self.latency.observe(time.perf_counter() - t0)
            self.requests.labels(str(response.status_code)).inc()
            return response

        async def healthz(_: Request):
            return JSONResponse({"status": "ok", "service": self.name})

        async def readyz(_: Request):
            checks = {}
            try:
                checks["store"] = bool(self._store and await self._store.ping())
            except Exception:
                checks["store"] = False
            try:
                checks["bus"] = bool(self._bus and await self._bus.ping())
            except Exception:
                checks["bus"] = False
            ok = self.started and all(checks.values())
            return JSONResponse({"ready": ok, **checks}, status_code=200 if ok else 503)

        async def metrics(_: Request):
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        @asynccontextmanager
        async def lifespan(_app):
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        return Starlette(
            routes=[
                Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
                Route("/healthz", healthz),
                Route("/readyz", readyz),
                Route("/metrics", metrics),
            ],
            lifespan=lifespan,
        )

    def sdl(self) -> str:
        return self.graphql_schema.as_str() + "\n"


def mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask, error_message="Internal error; see the service log (reference in extensions)")


class _Schema(strawberry.federation.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Client mistakes (syntax, validation, bad arguments) are answered, not logged as
        # failures; unexpected resolver errors are logged once, with a reference, by _should_mask.
        return None


def build_schema(query, mutation=None, types: Sequence[type] = (), settings: Settings | None = None
                 ) -> strawberry.federation.Schema:
    """A subgraph schema with the hostile-query limits of a subgraph (the gateway has its own,
    tighter ones; these hold when a subgraph is reached directly with a valid token)."""
    s = settings or Settings(service="schema")
    return _Schema(
        query=query, mutation=mutation, types=list(types), federation_version="2.9",
        extensions=[
            mask_errors,
            lambda: QueryDepthLimiter(max_depth=s.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=s.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
            PortalIntrospectionGuard,
        ],
    )


def run(service_cls: type[Service]) -> None:
    """`python -m services.<name>`: serve one service with uvicorn."""
    import uvicorn

    service = service_cls()
    setup_logging(service.settings.log_level)
    uvicorn.run(service.app, host=service.settings.host, port=service.settings.port,
                log_level=service.settings.log_level.lower(), lifespan="on")
