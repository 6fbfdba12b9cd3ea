"""The CRM in its deployed shape for a benchmark: each of the four services in its own process
(`python -m services.<name>`, uvicorn) over RabbitMQ, SQLite files in a fresh data dir (MongoDB
when `--mongo` and MONGODB_URL), and the Hive Gateway process (request deduplication and rate
limits off), with the demo data loaded through the gateway.

`Deployed.cpu()` reads each process's CPU time (user + system, children included: the gateway)
so a bench can report CPU milliseconds per request per process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from devtools.demo import seed
from devtools.stack import SERVICE_CLASSES, Stack, free_port, kill_gateway
from services.common import auth

GATEWAY_ENV = {"TURNKEY_GATEWAY_DEDUP": "false", "TURNKEY_RATE_LIMIT": "0", "TURNKEY_PORTAL_RATE_LIMIT": "0"}


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of a process and its live children."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


class Deployed:
    def __init__(self, *, amqp_url: str, mongodb_url: str | None = None, env: dict | None = None):
        self.data = Path(tempfile.mkdtemp(prefix="turnkey-bench-"))
        self.exchange = f"bench{os.getpid()}x{int(time.time()) % 100000}"
        self.stack = Stack(
            data_dir=self.data,
            ports={n: free_port() for n in SERVICE_CLASSES},
            gateway_port=free_port(),
            amqp_url=amqp_url,
            mongodb_url=mongodb_url,
            exchange=self.exchange,
            db_prefix=self.exchange,
            env="development",
        )
        self.extra_env = env or {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.ps: dict[str, psutil.Process] = {}
        self._gateway_log = None

    @property
    def gateway(self) -> str:
        return self.stack.gateway_url

    def url(self, name: str) -> str:
        return self.stack.service_url(name)

    def service_env(self, name: str) -> dict:
        s = self.stack
        env = {
            **os.environ,
            "TURNKEY_DATA_DIR": str(self.data),
            f"{name.upper()}_PORT": str(s.ports[name]),
            "AMQP_URL": s.amqp_url or "",
            "TURNKEY_EXCHANGE": self.exchange,
            "TURNKEY_DB_PREFIX": self.exchange,
            "TURNKEY_ENV": "development",
            "TURNKEY_RELAY_INTERVAL": "0.2",
            "LOG_LEVEL": "WARNING",
            **s.gateway_auth_env(),
            **self.extra_env,
        }
        if s.mongodb_url:
            env["MONGODB_URL"] = s.mongodb_url
        else:
            env.pop("MONGODB_URL", None)
        return env

    async def start_service(self, name: str) -> None:
        log = open(self.data / f"{name}.log", "ab")  # noqa: SIM115 - the child's output
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], env=self.service_env(name), stdout=log, stderr=subprocess.STDOUT
        )
        self.ps[name] = psutil.Process(self.procs[name].pid)
        ready = self.url(name).replace("/graphql", "/readyz")
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as c:
            while True:
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.data / (name + '.log')}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(ready)).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready")
                await asyncio.sleep(0.1)

    async def start(self, *, demo: bool = True) -> None:
        auth.ensure_local_keys(self.stack.settings("contacts"))
        await asyncio.gather(*(self.start_service(n) for n in SERVICE_CLASSES))
        proc, self._gateway_log = await self.stack.spawn_gateway(self.stack.gateway_port, GATEWAY_ENV)
        self.stack.gateway = proc
        self.ps["gateway"] = psutil.Process(proc.pid)
        if demo:
            await seed(self.gateway, self.settle, self.stack.mint)

    async def events_applied(self) -> float:
        """Events applied by all consumers so far (from each service's /metrics)."""
        total = 0.0
        async with httpx.AsyncClient(timeout=5) as c:
            for n in SERVICE_CLASSES:
                text = (await c.get(self.url(n).replace("/graphql", "/metrics"))).text
                total += sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith("events_consumed_total")
                )
        return total

    async def settle(self, quiet: float = 0.8, timeout: float = 60) -> None:
        """Wait until no consumer has applied an event for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last, since = await self.events_applied(), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = await self.events_applied()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise TimeoutError("events did not settle")

    def cpu(self) -> dict[str, float]:
        return {n: cpu_seconds(p) for n, p in self.ps.items()}

    def rss(self) -> dict[str, float]:
        return {n: rss_mb(p) for n, p in self.ps.items()}

    def sqlite(self, name: str) -> Path:
        return self.data / f"{name}.sqlite3"

    async def stop(self) -> None:
        if self.stack.gateway is not None:
            await kill_gateway(self.stack.gateway, self._gateway_log)
            self.stack.gateway = None
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                await asyncio.to_thread(p.wait, 20)
            except subprocess.TimeoutExpired:
                p.kill()
        await self._drop_queues()
        shutil.rmtree(self.data, ignore_errors=True)

    async def _drop_queues(self) -> None:
        """Remove this run's exchange and queues from the shared broker."""
        import aio_pika

        from services.common.service import Service

        with contextlib.suppress(Exception):
            conn = await aio_pika.connect(self.stack.amqp_url)
            async with conn:
                ch = await conn.channel()
                for n, cls in SERVICE_CLASSES.items():
                    svc: Service = cls(self.stack.settings(n))
                    for sub in svc.subscriptions():
                        for q in (svc.queue_name(sub), svc.queue_name(sub) + ".dlq"):
                            with contextlib.suppress(Exception):
                                await ch.queue_delete(q)
                            ch = await conn.channel() if ch.is_closed else ch
                for ex in (self.exchange, self.exchange + ".dlx"):
                    with contextlib.suppress(Exception):
                        await ch.exchange_delete(ex)
