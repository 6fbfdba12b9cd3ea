"""The web client's weight and speed: `python -m bench.web [-n 5]`.

Prints the gzip size of the whole build (web/dist) and of what the client 360° page loads, and,
over `n` cold loads in headless Chromium (Debian's, as the browser tests use), the time to first
contentful paint and to first meaningful paint of the 360° page — the moment its health banner,
people, deals and timeline are on screen, i.e. the page's data has arrived and rendered — signed
in as the demo salesperson on the demo client Nordhaven Architects. Starts the CRM like
bench/crm.py (`python -m devtools run` in a child process, fresh data, demo data), with the web
client on a free port."""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
from urllib.parse import urlparse

import httpx

from bench.crm import running_crm
from devtools.stack import free_port
from devtools.web import DIST, ensure_built

FIND = '{ companies(first: 1, filter: {name: "Nordhaven Architects"}) { edges { node { id } } } }'


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def chromium() -> str:
    from tests.web.conftest import chromium_path

    path = chromium_path()
    if not path:
        raise SystemExit("Chromium not found: apt-get install chromium")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="cold page loads")
    args = ap.parse_args()
    ensure_built()
    files = [p for p in DIST.rglob("*") if p.is_file()]
    total = sum(gz(p.read_bytes()) for p in files)
    print(f"machine: {platform.machine()}, {platform.python_version()}")
    print(
        f"web/dist: {len(files)} files, {sum(p.stat().st_size for p in files) / 1024:.0f} KiB, gzip {total / 1024:.1f} KiB"
    )

    from playwright.sync_api import sync_playwright

    port = free_port()
    with running_crm({"TURNKEY_WEB": "1", "TURNKEY_WEB_PORT": str(port)}, embedded=True) as crm:
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(crm.gateway, json={"query": FIND}, headers=crm.headers, timeout=30).json()
        company = r["data"]["companies"]["edges"][0]["node"]["id"]
        session = httpx.post(f"{base}/dev/token", json={"user": "sales.anna"}, timeout=30).json()
        stored = json.dumps({k: session[k] for k in ("token", "role", "user", "name")})
        fcp, fmp, loaded = [], [], set()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            for i in range(args.n + 1):  # the first load warms the CRM's caches, not the browser's
                ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                ctx.add_init_script(f"sessionStorage.setItem('turnkey.session', {json.dumps(stored)})")
                page = ctx.new_page()
                page.on("request", lambda req: loaded.add(urlparse(req.url).path))
                page.goto(f"{base}/companies/{company}")
                page.wait_for_selector(".health")
                page.wait_for_selector("#timeline")
                ms = page.evaluate("performance.now()")
                paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
                if i:
                    fmp.append(ms)
                    fcp.append(paint)
                ctx.close()
            browser.close()
    assets = [DIST / p.lstrip("/") for p in loaded if p.startswith("/assets/")] + [DIST / "index.html"]
    print(f"client 360° page loads {len(assets)} files: gzip {sum(gz(p.read_bytes()) for p in assets) / 1024:.1f} KiB")
    for name, xs in (("first contentful paint", fcp), ("first meaningful paint (360° data on screen)", fmp)):
        xs = sorted(x for x in xs if x is not None)
        print(f"{name}: median {statistics.median(xs):.0f} ms, min {xs[0]:.0f} ms, max {xs[-1]:.0f} ms (n={len(xs)})")


if __name__ == "__main__":
    main()
