"""Shared fixtures. Server-backed legs read MONGODB_URL / AMQP_URL. Without them a leg skips
with a reason, except under CI=true, where a missing server fails the test (nothing may pass by
skipping in CI)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import pytest

from services.common.bus.memory import InMemoryBus
from services.common.store.sqlite import SqliteStore

IN_CI = os.environ.get("CI", "").lower() == "true"


GATEWAY_DIR = Path(__file__).resolve().parent.parent / "gateway"


def unavailable(reason: str) -> NoReturn:
    """The one way a test gives up on a missing server or tool: skip with the reason, except
    under CI=true, where it fails (nothing may pass by skipping in CI)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: server legs must run)")
    pytest.skip(reason)


def need(env: str, what: str) -> str:
    """The URL in `env`, or unavailable."""
    url = os.environ.get(env)
    if not url:
        unavailable(f"{what} not available: set {env}")
    return url


def need_gateway() -> None:
    """Node and the gateway's node modules (Hive Gateway, the composition library), or unavailable."""
    if not (GATEWAY_DIR / "node_modules" / ".bin" / "hive-gateway").exists() or not shutil.which("node"):
        unavailable("gateway dependencies missing (cd gateway && npm ci)")


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.sqlite3")
        await s.connect()
        yield s
        await s.close()
    else:
        url = need("MONGODB_URL", "MongoDB-wire server")
        from services.common.store.mongo import MongoStore

        s = MongoStore(url, f"test_{uuid.uuid4().hex[:12]}")
        await s.connect()
        yield s
        await s.client.drop_database(s.db_name)
        await s.close()


@pytest.fixture(params=["memory", "rabbit"])
async def bus(request):
    if request.param == "memory":
        b = InMemoryBus()
        await b.connect()
        yield b
        await b.close()
    else:
        url = need("AMQP_URL", "RabbitMQ")
        from services.common.bus.rabbit import RabbitBus

        b = RabbitBus(url, exchange=f"test.{uuid.uuid4().hex[:10]}")
        await b.connect()
        b.test_queues = []
        yield b
        await delete_rabbit_objects(b.conn, b.exchange_name, b.test_queues)
        await b.close()


async def delete_rabbit_objects(conn, exchange: str, queues: Iterable[str]) -> None:
    """The one RabbitMQ clean-up of the tests: each queue with its dead-letter queue, then the
    exchange with its dead-letter exchange (a failed delete closes the channel: open another)."""
    ch = await conn.channel()
    names = [n for q in queues for n in (q, f"{q}.dlq")]
    for kind, items in (("queue", names), ("exchange", [exchange, f"{exchange}.dlx"])):
        for name in items:
            try:
                await (ch.queue_delete(name) if kind == "queue" else ch.exchange_delete(name))
            except Exception:
                ch = await conn.channel()
    await ch.close()


def qname(bus, base: str) -> str:
    """A queue name unique to this test run, remembered for clean-up on RabbitMQ."""
    name = f"t.{base}.{uuid.uuid4().hex[:8]}"
    if hasattr(bus, "test_queues"):
        bus.test_queues.append(name)
    return name


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        import threading

        self.messages: list = []
        self.envelopes: list = []  # (mail_from, rcpt_tos) per message
        self._lock = threading.Lock()
        self.refuse: set[str] = set()  # recipients answered with a permanent 550
        self.controller = None
        self.url = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        msg = message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        from devtools.stack import free_port

        port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    async def wait_for(self, n: int, timeout: float = 20.0) -> list:
        """The messages once at least `n` have arrived (AssertionError after `timeout`)."""
        import asyncio
        import time

        end = time.monotonic() + timeout
        while len(self.messages) < n:
            if time.monotonic() > end:
                raise AssertionError(f"expected {n} messages, got {len(self.messages)}")
            await asyncio.sleep(0.05)
        return list(self.messages)


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Under CI=true a failure's report is printed when it happens, not only in the summary at the
    end: a run stopped by CI's time limit still says why its failed tests failed."""
    if not IN_CI or not report.failed:
        return
    import sys

    text = str(report.longrepr)
    if len(text) > 4000:
        text = text[:1000] + "\n[...]\n" + text[-3000:]
    sys.stderr.write(f"\n---- {report.nodeid} ({report.when}) failed ----\n{text}\n---- end ----\n")
