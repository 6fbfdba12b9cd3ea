"""Browser tests: Debian's Chromium (pytest-playwright, sync API) against the real embedded stack —
four services, the Hive Gateway process and the web client's development server, with demo data.

The stack runs in its own thread and event loop: the sync Playwright API must not run inside an
asyncio loop, and the services must keep serving while a (sync) test waits on the browser.
Chromium missing, or the web client not built, fails under CI=true (tests/conftest.py `unavailable`).
Screenshots of each main screen go to test-results/screens/ (git-ignored)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path

import httpx
import pytest

from devtools.demo import seed
from devtools.stack import SERVICE_CLASSES, Stack, free_port
from devtools.web import DIST, ensure_built, start_web
from tests.conftest import need_gateway, unavailable

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-results" / "screens"
NO_RATE_LIMIT = {"TURNKEY_RATE_LIMIT": "0", "TURNKEY_PORTAL_RATE_LIMIT": "0"}
# after seeding (which sends documents as partners and customers), the gateway is restarted so that
# portal roles run persisted documents only, as in production: the portals must work that way
PERSISTED_ONLY = {**NO_RATE_LIMIT, "TURNKEY_PORTAL_PERSISTED_ONLY": "true"}


def chromium_path() -> str | None:
    """Debian's Chromium: /usr/bin/chromium is a shell wrapper; Playwright needs the binary."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if path is None:
        unavailable("Chromium not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": path, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


class LiveStack:
    """A Stack served from a background thread; `call(coro)` runs a coroutine in its loop."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="web-stack", daemon=True)
        self.thread.start()
        self.url = ""
        self.ids: dict[str, str] = {}

    def call(self, coro, timeout: float = 300):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def mint(self, role: str, sub: str | None = None, **kw) -> str:
        return self.stack.mint(role, sub, **kw)

    def gql(self, token: str, query: str, variables: dict | None = None) -> dict:
        r = httpx.post(
            self.stack.gateway_url,
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        body = r.json()
        assert not body.get("errors"), body
        return body["data"]


@pytest.fixture(scope="session")
def web(tmp_path_factory):
    need_gateway()
    if shutil.which("npm") is None:
        unavailable("npm not installed: the web client cannot be built")
    ensure_built()  # `make test` builds first; this only rebuilds a stale build
    assert (DIST / "index.html").exists()
    stack = Stack(
        data_dir=tmp_path_factory.mktemp("crm-web"),
        ports={n: free_port() for n in SERVICE_CLASSES},
        gateway_port=free_port(),
        relay_interval=0.05,
        gateway_env=NO_RATE_LIMIT,
    )
    live = LiveStack(stack)

    async def up():
        await stack.start()
        live.ids = await seed(stack.gateway_url, stack.settle, stack.mint)
        await stack.stop_gateway()
        stack.gateway_env = PERSISTED_ONLY
        await stack.start_gateway()
        live.url = (await start_web(stack, free_port())).rstrip("/")

    try:
        live.call(up())
        yield live
    finally:
        live.call(stack.stop())
        live.loop.call_soon_threadsafe(live.loop.stop)
        live.thread.join(10)


@pytest.fixture
def shoot():
    """shoot(page, "name"): a full-page screenshot in test-results/screens/name.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def axe_check():
    """axe_check(page, "name"): axe-core on the page; fails on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page, name: str) -> None:
        results = axe.run(page)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad
        )

    return check


def pytest_collection_modifyitems(session, config, items):
    """Browser tests run last. The sync Playwright API keeps its event loop marked running in the
    main thread until its session-scoped fixture ends, so an async test after a browser test would
    fail ("Runner.run() cannot be called from a running event loop")."""
    here = Path(__file__).resolve().parent
    browser = [i for i in items if Path(str(i.path)).resolve().parent == here]
    if browser:
        ids = {id(i) for i in browser}
        items[:] = [i for i in items if id(i) not in ids] + browser
