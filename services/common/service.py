"""One runtime for every service: store + bus + outbox relay + event consumers, served over HTTP
by `app.build_app`. A service subclasses `Service`, sets `name`, and builds its `schema()`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import strawberry
from prometheus_client import CollectorRegistry, Counter, Histogram

from .auth import Principal, Verifier
from .authz import NO_ROWS
from .bus import Bus, open_bus
from .bus.memory import InMemoryBus
from .envelope import Envelope
from .logging import setup_logging
from .outbox import OutboxRelay, subscribe_idempotent
from .scheduler import Scheduler, Timer
from .settings import Settings
from .store import Store, open_store

log = logging.getLogger(__name__)
# A subgraph keeps an idle connection open longer than its client (the gateway's HTTP client drops
# idle connections after a few seconds): with uvicorn's default of 5 s the server could close a
# connection just as the gateway reused it, and the request failed with "socket hang up".
KEEP_ALIVE_SECONDS = 75

Handler = Callable[[Envelope], Awaitable[None]]


class Subscription:
    """An event consumer: its own durable queue (`name`), the routing-key patterns it binds."""

    def __init__(self, name: str, patterns: Sequence[str], handler: Handler):
        self.name, self.patterns, self.handler = name, list(patterns), handler


class Service:
    """Base class of the four services. Subclasses set `name`, build `schema()` and may override
    `setup()` (indexes, seed data), `subscriptions()` (event consumers) and `row_scope()`."""

    name = "service"
    # secondary indexes the service's queries need, created at start: {collection: [fields, ...]}
    indexes: dict[str, list[list[tuple[str, int]]]] = {}

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None, bus: Bus | None = None):
        from .app import build_app

        self.settings = settings or Settings.from_env(self.name)
        self._store, self._bus = store, bus
        self._owns_store, self._owns_bus = store is None, bus is None
        self.relay: OutboxRelay | None = None
        self.scheduler: Scheduler | None = None
        self.registry = CollectorRegistry()
        self.requests = Counter("graphql_requests", "GraphQL HTTP requests", ["status"], registry=self.registry)
        self.latency = Histogram("graphql_request_seconds", "GraphQL request latency", registry=self.registry)
        self.events_in = Counter("events_consumed", "Events applied by consumers", ["type"], registry=self.registry)
        self.started = False
        self._verifier: Verifier | None = None
        self.graphql_schema = self.schema()
        self.app = build_app(self)

    # ---- to override --------------------------------------------------------------------
    def schema(self) -> strawberry.federation.Schema:
        raise NotImplementedError

    async def setup(self) -> None:
        """Unique indexes, seed reference data (idempotent); runs after `indexes` exist."""

    def subscriptions(self) -> list[Subscription]:
        return []

    def timers(self) -> list[Timer]:
        """Scheduled transitions (services/common/scheduler.py): fired once across replicas."""
        return []

    def public_routes(self) -> list:
        """Extra Starlette routes served WITHOUT a bearer token (web forms, signed links). Each
        handler validates, limits and checks signatures itself, and reveals nothing about records
        the caller could not otherwise see. The service is `request.app.state.service`."""
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

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.settings)
        return self._verifier

    async def start(self) -> None:
        if self.started:
            return
        setup_logging(self.settings.log_level)
        if self._store is None:
            self._store = await open_store(self.settings)
        if self._bus is None:
            self._bus = await open_bus(self.settings)
        for coll, specs in self.indexes.items():
            for spec in specs:
                await self.store.ensure_index(coll, spec)
        await self.setup()
        for sub in self.subscriptions():
            await subscribe_idempotent(
                self.bus,
                self.store,
                self.queue_name(sub),
                sub.patterns,
                self._counted(sub.handler),
                max_deliveries=self.settings.max_deliveries,
            )
        self.relay = OutboxRelay(self.store, self.bus, interval=self.settings.relay_interval)
        self.relay.start()
        self.scheduler = Scheduler(self.store, self.timers(), interval=self.settings.scheduler_interval)
        if self.settings.scheduler_enabled:
            self.scheduler.start()
        self.started = True
        log.info("service=%s started store=%s bus=%s", self.name, type(self.store).__name__, type(self.bus).__name__)

    def queue_name(self, sub: Subscription) -> str:
        """Durable queue per consumer, namespaced by the exchange: `turnkey.deals.health`."""
        return f"{self.settings.exchange}.{self.name}.{sub.name}"

    def _counted(self, handler: Handler) -> Handler:
        async def wrapped(event: Envelope) -> None:
            await handler(event)
            self.events_in.labels(event.type).inc()

        return wrapped

    async def readiness(self) -> dict[str, bool]:
        checks = {}
        for name, port in (("store", self._store), ("bus", self._bus)):
            try:
                checks[name] = bool(port and await port.ping())
            except Exception:
                checks[name] = False
        return checks

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
        if self.scheduler is not None:
            await self.scheduler.stop()
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

    def sdl(self) -> str:
        return self.graphql_schema.as_str() + "\n"


def run(service_cls: type[Service]) -> None:
    """`python -m services.<name>`: serve one service with uvicorn."""
    import uvicorn

    service = service_cls()
    setup_logging(service.settings.log_level)
    uvicorn.run(
        service.app,
        host=service.settings.host,
        port=service.settings.port,
        log_level=service.settings.log_level.lower(),
        lifespan="on",
        loop="uvloop",  # libuv's event loop and the httptools parser: less CPU per request
        http="httptools",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
