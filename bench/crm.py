"""The CRM for a benchmark: `python -m devtools run` in a child process on free ports and a fresh
data dir (the four services in one process plus the gateway process, gateway request
deduplication and rate limits off), and an admin token for it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devtools.stack import free_port
from services.common import auth
from services.common.settings import Settings

NAMES = ["contacts", "deals", "marketing", "support"]


@dataclasses.dataclass
class Crm:
    gateway: str
    subgraphs: dict[str, str]
    settings: Settings
    headers: dict[str, str]
    pid: int = 0

    def cpu(self) -> dict[str, float]:
        """CPU seconds of the services' process and of the gateway (its child)."""
        import psutil

        from bench.deployed import cpu_seconds

        me = psutil.Process(self.pid)
        gateway = [p for p in me.children() if "node" in p.name() or "hive" in " ".join(p.cmdline())]
        total = cpu_seconds(me)
        gw = sum(cpu_seconds(p) for p in gateway)
        return {"services (one process)": total - gw, "gateway": gw}

    def token(self, role: str, sub: str, **claims) -> str:
        return auth.mint(self.settings, role=role, sub=sub, **claims)


@contextlib.contextmanager
def running_crm(
    extra_env: dict | None = None, *, mongo: str | None = None, data_dir: str | None = None, embedded: bool = False
) -> Iterator[Crm]:
    """`mongo`: run on this MongoDB-wire server (own database prefix), else the embedded store;
    `data_dir`: a data dir prepared beforehand (e.g. a store written straight to disk), else a
    fresh one; `embedded`: ignore AMQP_URL too (everything in-process)."""
    data = data_dir or tempfile.mkdtemp(prefix="turnkey-bench-")
    ports = {n: free_port() for n in NAMES}
    gport = free_port()
    env = {
        **os.environ,
        "TURNKEY_DATA_DIR": data,
        "TURNKEY_GATEWAY_PORT": str(gport),
        "TURNKEY_GATEWAY_DEDUP": "false",
        "TURNKEY_RATE_LIMIT": "0",
        "TURNKEY_PORTAL_RATE_LIMIT": "0",
        "LOG_LEVEL": "WARNING",
        "TURNKEY_WEB": "0",  # the web client only when a benchmark asks for it (bench/web.py)
        **{f"{n.upper()}_PORT": str(p) for n, p in ports.items()},
        **(extra_env or {}),
    }
    if mongo and not embedded:
        env["MONGODB_URL"] = mongo
        env["TURNKEY_DB_PREFIX"] = f"bench{os.getpid()}"
    else:
        env.pop("MONGODB_URL", None)
    if embedded:
        env.pop("AMQP_URL", None)
    elif os.environ.get("AMQP_URL"):
        env["TURNKEY_EXCHANGE"] = f"bench{os.getpid()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        else:
            raise RuntimeError("the CRM did not start:\n" + "".join(seen[-30:]))
        settings = dataclasses.replace(Settings.from_env("contacts"), data_dir=Path(data))
        yield Crm(
            gateway=f"http://127.0.0.1:{gport}/graphql",
            subgraphs={n: f"http://127.0.0.1:{p}/graphql" for n, p in ports.items()},
            settings=settings,
            headers={"authorization": "Bearer " + auth.mint(settings, role="admin", sub="bench")},
            pid=proc.pid,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
