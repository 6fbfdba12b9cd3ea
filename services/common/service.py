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

from .bus import Bus, open_bus
from .bus.memory import InMemoryBus
from .envelope import Envelope
from .graphql import PublicError
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
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.service.store

    def by_id(self, coll: str):
        """A per-request DataLoader of documents of `coll` by id (None where absent)."""
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
        return Context(self.service, request, response)


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
        self.app = self._build_app()

    # ---- to override --------------------------------------------------------------------
    def schema(self) -> strawberry.federation.Schema:
        raise NotImplementedError

    async def setup(self) -> None:
        """Create indexes, seed reference data (idempotent)."""

    def subscriptions(self) -> list[Subscription]:
        return []

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
    def _build_app(self) -> Starlette:
        schema = self.schema()
        self.graphql_schema = schema
        gql = _GraphQLApp(
            self, schema,
            graphql_ide="graphiql" if self.settings.env == "development" else None,
        )

        async def graphql_endpoint(request: Request):
            t0 = time.perf_counter()
            try:
                response = await gql.run(request)
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


def build_schema(query, mutation=None, types: Sequence[type] = ()) -> strawberry.federation.Schema:
    return _Schema(
        query=query, mutation=mutation, types=list(types),
        federation_version="2.9", extensions=[mask_errors],
    )


def run(service_cls: type[Service]) -> None:
    """`python -m services.<name>`: serve one service with uvicorn."""
    import uvicorn

    service = service_cls()
    setup_logging(service.settings.log_level)
    uvicorn.run(service.app, host=service.settings.host, port=service.settings.port,
                log_level=service.settings.log_level.lower(), lifespan="on")
