"""`make run`: the whole CRM on embedded defaults — four services and the gateway, demo data
loaded on the first run — until Ctrl-C.

    python -m devtools run        # run
    python -m devtools sdl DIR    # write each subgraph's SDL (for composition)

Configuration: TURNKEY_DATA_DIR (default .data), MONGODB_URL, AMQP_URL, TURNKEY_GATEWAY_PORT
(default 4000), TURNKEY_WEB_PORT (default 4080; the web client, built on first start),
CONTACTS_PORT/DEALS_PORT/MARKETING_PORT/SUPPORT_PORT, TURNKEY_DEMO=0 to skip demo data,
TURNKEY_WEB=0 to start without the web client."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from devtools.demo import QUERY_360, seed
from devtools.stack import SERVICE_CLASSES, Stack, write_sdl
from devtools.web import ensure_built, start_web
from services.common.logging import setup_logging
from services.common.settings import Settings

CURL_QUERY = (
    '{"query": "{ companies(first: 1, filter: {name: \\"Nordhaven Architects\\"}) '
    '{ edges { node { name health { level warnings } } } } }"}'
)


async def main() -> int:
    """Start everything, print the URLs and a token, wait for Ctrl-C."""
    t0 = time.monotonic()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_logging(os.environ["LOG_LEVEL"].upper())
    ports = {name: Settings.from_env(name).port for name in SERVICE_CLASSES}
    stack = Stack(
        data_dir=Path(os.environ.get("TURNKEY_DATA_DIR", ".data")),
        ports=ports,
        gateway_port=int(os.environ.get("TURNKEY_GATEWAY_PORT", "4000")),
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        amqp_url=os.environ.get("AMQP_URL") or None,
        exchange=os.environ.get("TURNKEY_EXCHANGE", "turnkey"),
        db_prefix=os.environ.get("TURNKEY_DB_PREFIX", "turnkey"),
        env=os.environ.get("TURNKEY_ENV", "development"),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    web = os.environ.get("TURNKEY_WEB", "1") != "0"
    if web:
        await asyncio.to_thread(ensure_built)  # npm ci + vite build when web/dist is missing or stale
    try:
        await stack.start()
        web_url = await start_web(stack, int(os.environ.get("TURNKEY_WEB_PORT", "4080"))) if web else None
        if (
            os.environ.get("TURNKEY_DEMO", "1") != "0"
            and await stack.services["contacts"].store.count("companies") == 0
        ):
            print("loading demo data ...", flush=True)
            await seed(stack.gateway_url, stack.settle, stack.mint)
        token = stack.mint("admin", os.environ.get("USER") or "admin", ttl="12h")
        store = "MongoDB " + stack.mongodb_url if stack.mongodb_url else f"SQLite files in {stack.data_dir}/"
        bus = "RabbitMQ" if stack.amqp_url else "in-process bus"
        web_line = f"\n  Web client:  {web_url}   (sign in as a demo user of any role)\n" if web_url else ""
        print(
            f"""
Turnkey CRM is running ({store}; {bus}; ready in {time.monotonic() - t0:.1f}s).
{web_line}
  Gateway (GraphiQL in a browser):  {stack.gateway_url}
  Subgraphs: {", ".join(f"{n} {stack.service_url(n)}" for n in SERVICE_CLASSES)}

Try the 360° view of a client:

  export TOKEN={token}

  curl -s {stack.gateway_url} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{CURL_QUERY}'

or paste this into GraphiQL (add the header {{"Authorization": "Bearer <the token>"}}):

{QUERY_360}
Other roles: python -m devtools token --role partner --sub tom@kestrel --company <partner company id>
(roles: admin sales marketing support partner customer; see docs/security.md). Ctrl-C stops everything.""",
            flush=True,
        )
        await stop.wait()
    finally:
        print("stopping ...", flush=True)
        await stack.stop()
    return 0


def serve() -> int:
    return asyncio.run(main())


def sdl(directory: str) -> int:
    write_sdl(Path(directory))
    return 0
