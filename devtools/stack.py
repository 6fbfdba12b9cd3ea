"""Run the whole CRM in one process: the four services (each its own HTTP server and port, all
sharing one event bus) and the Hive Gateway as a child process. Used by `make run`
(devtools/run.py), the gateway tests and the benchmarks.

With AMQP_URL the services talk over RabbitMQ exactly as separately deployed services do; without
it they share the in-process bus, which is why `make run` keeps them in one process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import uvicorn

from services.common import auth
from services.common.bus import Bus, InMemoryBus, open_bus
from services.common.service import KEEP_ALIVE_SECONDS, Service
from services.common.settings import DEFAULT_PORTS, Settings
from services.contacts.service import ContactsService
from services.deals.service import DealsService
from services.marketing.service import MarketingService
from services.support.service import SupportService

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
GATEWAY_DIR = ROOT / "gateway"
SERVICE_CLASSES: dict[str, type[Service]] = {
    "contacts": ContactsService,
    "deals": DealsService,
    "marketing": MarketingService,
    "support": SupportService,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the stack owns signal handling, not each server
        yield


def write_sdl(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, cls in SERVICE_CLASSES.items():
        (directory / f"{name}.graphql").write_text(cls(Settings(service=name)).sdl())


def compose(out: Path, urls: dict[str, str] | None = None, sdl_dir: Path | None = None) -> None:
    """Compose a supergraph with @theguild/federation-composition (gateway/compose.mjs)."""
    cmd = ["node", str(GATEWAY_DIR / "compose.mjs"), "--out", str(out)]
    if sdl_dir:
        cmd += ["--subgraphs", str(sdl_dir)]
    for name, url in (urls or {}).items():
        cmd += ["--url", f"{name}={url}"]
    subprocess.run(cmd, check=True, cwd=GATEWAY_DIR)


class Stack:
    def __init__(
        self,
        *,
        data_dir: Path,
        ports: dict[str, int] | None = None,
        gateway_port: int = 4000,
        host: str = "127.0.0.1",
        mongodb_url: str | None = None,
        amqp_url: str | None = None,
        exchange: str = "turnkey",
        db_prefix: str = "turnkey",
        env: str = "development",
        relay_interval: float = 0.2,
        supergraph: Path | None = None,
        gateway_env: dict | None = None,
    ):
        self.data_dir, self.host = Path(data_dir), host
        self.ports = dict(ports or DEFAULT_PORTS)
        self.gateway_port = gateway_port
        self.mongodb_url, self.amqp_url, self.exchange, self.db_prefix = mongodb_url, amqp_url, exchange, db_prefix
        self.env, self.relay_interval = env, relay_interval
        self.supergraph = supergraph
        self.gateway_env = gateway_env or {}
        self.services: dict[str, Service] = {}
        self.servers: dict[str, tuple[_Server, asyncio.Task]] = {}
        self.bus: Bus | None = None
        self.gateway: subprocess.Popen | None = None
        self._composed: Path | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}/graphql"

    def service_url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}/graphql"

    def settings(self, name: str) -> Settings:
        base = Settings.from_env(name)
        return dataclasses.replace(
            base,
            host=self.host,
            port=self.ports[name],
            data_dir=self.data_dir,
            mongodb_url=self.mongodb_url,
            amqp_url=self.amqp_url,
            exchange=self.exchange,
            db_prefix=self.db_prefix,
            env=self.env,
            relay_interval=self.relay_interval,
        )

    def mint(
        self,
        role: str,
        sub: str | None = None,
        *,
        company: str | None = None,
        contact: str | None = None,
        ttl: str = "8h",
    ) -> str:
        """A token signed with this installation's local key (embedded default)."""
        return auth.mint(
            self.settings("contacts"),
            role=role,
            sub=sub or f"{role}.{company or 'staff'}",
            company=company,
            contact=contact,
            ttl=auth.parse_ttl(ttl),
        )

    def gateway_auth_env(self) -> dict[str, str]:
        """What the gateway needs to verify the same tokens as the services."""
        s = self.settings("contacts")
        env = {
            "TURNKEY_JWT_ISSUER": s.jwt_issuer,
            "TURNKEY_JWT_AUDIENCE": s.jwt_audience,
            "TURNKEY_JWT_CLAIM_NAMESPACE": s.jwt_claim_namespace,
        }
        if s.jwks_url:
            env["TURNKEY_JWKS_URL"] = s.jwks_url
        else:
            env["TURNKEY_JWT_PUBLIC_KEY_FILE"] = str(auth.public_key_path(s).resolve())
        return env

    async def start(self, *, gateway: bool = True) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.settings("contacts").jwks_url:
            auth.ensure_local_keys(self.settings("contacts"))  # before any service or the gateway reads it
        # one bus for all services of this process (RabbitMQ when AMQP_URL is set)
        self.bus = await open_bus(self.settings("contacts")) if self.amqp_url else InMemoryBus()
        if isinstance(self.bus, InMemoryBus):
            await self.bus.connect()
        for name in SERVICE_CLASSES:
            await self.start_service(name)
        if gateway:
            await self.start_gateway()

    async def start_service(self, name: str) -> None:
        svc = SERVICE_CLASSES[name](self.settings(name), bus=self.bus)
        self.services[name] = svc
        server = _Server(
            uvicorn.Config(
                svc.app,
                host=self.host,
                port=self.ports[name],
                lifespan="on",
                log_level="warning",
                access_log=False,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
            )
        )
        task = asyncio.create_task(server.serve(), name=f"serve-{name}")
        deadline = time.monotonic() + 30
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"{name} did not start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not start")
            await asyncio.sleep(0.02)
        self.servers[name] = (server, task)

    async def stop_service(self, name: str) -> None:
        server, task = self.servers.pop(name)
        server.should_exit = True
        await task
        self.services.pop(name, None)

    def _supergraph_file(self) -> Path:
        if self.supergraph:
            return self.supergraph
        committed = GATEWAY_DIR / "supergraph.graphql"
        if self.ports == DEFAULT_PORTS and self.host == "127.0.0.1" and committed.exists():
            return committed
        # composed once: a running gateway watches its file and would reload on a rewrite
        if self._composed is None:
            self._composed = self.data_dir / "supergraph.graphql"
            compose(self._composed, {n: self.service_url(n) for n in SERVICE_CLASSES})
        return self._composed

    async def start_gateway(self) -> None:
        self.gateway, self._gateway_log = await self.spawn_gateway(self.gateway_port, self.gateway_env)

    async def spawn_gateway(self, port: int, extra_env: dict | None = None):
        """Start a gateway process on `port` over this stack's subgraphs; wait until it answers."""
        binary = GATEWAY_DIR / "node_modules" / ".bin" / "hive-gateway"
        if not binary.exists():
            raise RuntimeError("gateway dependencies missing: run `make run` or `cd gateway && npm ci`")
        supergraph = self._supergraph_file()
        env = {**os.environ, "TURNKEY_ENV": self.env, **self.gateway_auth_env(), **(extra_env or {})}
        # the gateway reads LOG_LEVEL itself and knows only trace|debug|info|warn|error
        level = env.get("LOG_LEVEL", "warn").lower()
        env["LOG_LEVEL"] = {"warning": "warn", "critical": "error", "fatal": "error"}.get(level, level)
        if env["LOG_LEVEL"] not in ("trace", "debug", "info", "warn", "error"):
            env["LOG_LEVEL"] = "warn"
        log_path = self.data_dir / f"gateway-{port}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child; closed by kill_gateway
        proc = subprocess.Popen(
            [str(binary), "supergraph", str(supergraph), "--host", self.host, "--port", str(port)],
            cwd=GATEWAY_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        url = f"http://{self.host}:{port}/graphql"
        token = self.mint("admin", "stack.readiness", ttl="5m")
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    log_file.close()
                    raise RuntimeError(f"gateway exited with {proc.returncode}; see {log_path}")
                try:
                    r = await client.post(
                        url, json={"query": "{ __typename }"}, headers={"authorization": f"Bearer {token}"}
                    )
                    if r.status_code == 200:
                        return proc, log_file
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    await kill_gateway(proc, log_file)
                    raise TimeoutError(f"gateway did not answer; see {log_path}")
                await asyncio.sleep(0.2)

    async def stop_gateway(self) -> None:
        if self.gateway is None:
            return
        await kill_gateway(self.gateway, self._gateway_log)
        self.gateway = None

    async def stop(self) -> None:
        await self.stop_gateway()
        for name in list(self.servers):
            await self.stop_service(name)
        if self.bus is not None:
            await self.bus.close()
            self.bus = None

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until every outbox is published and the bus has nothing in flight (tests, seeding)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            busy = False
            for svc in self.services.values():
                if await svc.store.pending_outbox(1):
                    busy = True
            if isinstance(self.bus, InMemoryBus) and not self.bus.idle():
                busy = True
            quiet = 0 if busy else quiet + 1
            if quiet >= (3 if isinstance(self.bus, InMemoryBus) else 10):
                return
            await asyncio.sleep(0.05)
        waiting = {}
        for name, svc in self.services.items():
            rows = await svc.store.pending_outbox(5)
            if rows:
                waiting[name] = [
                    (coll, raw["_id"], [e["type"] for e in raw.get("_outbox") or []]) for coll, raw in rows
                ]
        busy_bus = isinstance(self.bus, InMemoryBus) and [
            (name, sub.queue.qsize(), sub.busy)
            for name, sub in self.bus.subs.items()
            if not (sub.queue.empty() and sub.busy == 0)
        ]
        raise TimeoutError(f"events did not settle: outboxes {waiting or 'empty'}; in-process bus busy: {busy_bus}")


async def kill_gateway(proc: subprocess.Popen, log_file) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.to_thread(proc.wait, 10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
    log_file.close()


async def gql(client: httpx.AsyncClient, url: str, query: str, variables: dict | None = None, **kw) -> dict:
    r = await client.post(url, json={"query": query, "variables": variables or {}}, **kw)
    body = r.json()
    return body


def dumps(x) -> str:
    return json.dumps(x, indent=2, ensure_ascii=False)


def which_node() -> str | None:
    return shutil.which("node")
