"""devtools/web.py: the development sign-in exists only in development with the local key; the
static server answers client routes with index.html and never serves a file outside web/dist."""

from __future__ import annotations

import dataclasses
import os
import time

import httpx

from devtools.web import build_is_stale, web_app
from services.common.settings import Settings


class FakeStack:
    gateway_url = "http://127.0.0.1:9/graphql"  # never called by these tests

    def __init__(self, **changes):
        self._settings = dataclasses.replace(Settings(service="contacts"), **changes)
        self.minted: list[tuple] = []

    def settings(self, name):
        return self._settings

    def mint(self, role, sub=None, **kw):
        self.minted.append((role, sub, kw))
        return "signed." + role


async def _client(stack, dist):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app(stack, dist)), base_url="http://web")


async def test_development_sign_in(tmp_path):
    stack = FakeStack(env="development")
    async with await _client(stack, tmp_path) as c:
        assert (await c.get("/config.json")).json() == {"signIn": "development"}
        users = (await c.get("/dev/users")).json()
        assert {u["role"] for u in users} == {"admin", "sales", "marketing", "support", "partner", "customer"}
        r = await c.post("/dev/token", json={"user": "sales.anna"})
        assert r.status_code == 200 and r.json()["token"] == "signed.sales" and r.json()["role"] == "sales"
        assert stack.minted == [("sales", "sales.anna", {"ttl": "8h"})]
        assert (await c.post("/dev/token", json={"user": "root"})).status_code == 400
        assert (await c.post("/dev/token", content=b"not json")).status_code == 400


async def test_no_development_sign_in_outside_development_or_with_a_key_set(tmp_path, monkeypatch):
    monkeypatch.setenv("TURNKEY_OIDC_ISSUER", "https://id.example.com/realms/crm")
    for stack in (FakeStack(env="production"), FakeStack(env="development", jwks_url="https://id.example.com/jwks")):
        async with await _client(stack, tmp_path) as c:
            assert (await c.get("/dev/users")).status_code == 404
            assert (await c.post("/dev/token", json={"user": "admin.demo"})).status_code == 404
            config = (await c.get("/config.json")).json()
            assert config["signIn"] == "oidc" and config["oidc"]["authority"] == "https://id.example.com/realms/crm"
        assert stack.minted == []


async def test_static_files_and_client_routes(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>app</html>")
    (dist / "assets" / "a.js").write_text("js")
    (tmp_path / "secret.txt").write_text("secret")
    async with await _client(FakeStack(), dist) as c:
        r = await c.get("/assets/a.js")
        assert r.text == "js" and "immutable" in r.headers["cache-control"]
        assert (await c.get("/companies/123")).text == "<html>app</html>"  # a client route
        for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
            assert "secret" not in (await c.get(path)).text


def test_build_is_stale(tmp_path):
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "supergraph.graphql").write_text("type Query { a: Int }")
    (web / "src" / "main.tsx").write_text("x")
    assert build_is_stale(web)  # no build
    (web / "dist").mkdir()
    (web / "dist" / "index.html").write_text("built")
    later = time.time() + 10
    os.utime(web / "dist" / "index.html", (later, later))
    assert not build_is_stale(web)
    os.utime(web / "src" / "main.tsx", (later + 10, later + 10))
    assert build_is_stale(web)  # a source changed after the build
