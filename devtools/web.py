"""The web client beside `make run`: builds `web/` when its build is missing or stale and serves it
on one origin with the gateway, so the browser calls `/graphql` without CORS.

    GET  /                 the static build (web/dist), any unknown path → index.html (client routes)
    POST /graphql          forwarded to the gateway as it came (headers that matter, body, status)
    POST /imports/files    the CSV upload (and GET /imports/jobs/<id>/errors.csv), forwarded to the
                           contacts service as a deployment routes it (docs/import.md)
    GET  /config.json      how to sign in: {"signIn": "development"} or the OIDC settings
    GET  /dev/users        development only: the demo users, one or two per role
    POST /dev/token        development only: {"user": "sales.anna"} → {"token": …} signed by the local key

The `/dev/*` routes exist only when TURNKEY_ENV is `development` and tokens are signed by the local
key (no TURNKEY_JWKS_URL); otherwise they answer 404 and sign-in is OpenID Connect
(TURNKEY_OIDC_ISSUER, TURNKEY_OIDC_CLIENT_ID). In production any web server serves web/dist and
routes /graphql to the gateway; this module is the development server only."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
DIST = WEB_DIR / "dist"

# Who a developer can be. Portal users are bound to the demo companies (devtools/demo.py), whose
# ids are looked up when a token is asked for (they change with every data directory).
DEMO_USERS: list[dict] = [
    {"user": "admin.demo", "role": "admin", "name": "Ada Admin"},
    {"user": "sales.anna", "role": "sales", "name": "Anna (sales)"},
    {"user": "marketing.olga", "role": "marketing", "name": "Olga (marketing)"},
    {"user": "support.sam", "role": "support", "name": "Sam (support)"},
    {
        "user": "mats@nordhaven",
        "role": "customer",
        "name": "Mats Berg (Nordhaven Architects)",
        "company": "Nordhaven Architects",
        "contactEmail": "mats.berg@nordhaven.example",
    },
    {"user": "tom@kestrel", "role": "partner", "name": "Tom (Kestrel Engineering)", "company": "Kestrel Engineering"},
    {
        "user": "sigrid@fjord",
        "role": "partner",
        "name": "Sigrid (Fjord Build Partners)",
        "company": "Fjord Build Partners",
    },
]

# Files whose change makes the build stale.
_SOURCES = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "codegen.ts", "tsconfig.json")


def _newest(paths) -> float:
    newest = 0.0
    for p in paths:
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file() and "gql" not in f.relative_to(p).parts:  # generated
                    newest = max(newest, f.stat().st_mtime)
        elif p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def build_is_stale(web_dir: Path = WEB_DIR) -> bool:
    index = web_dir / "dist" / "index.html"
    if not index.exists():
        return True
    sources = [web_dir / s for s in _SOURCES] + [web_dir.parent / "gateway" / "supergraph.graphql"]
    return _newest(sources) > index.stat().st_mtime


def ensure_built(web_dir: Path = WEB_DIR, *, force: bool = False) -> bool:
    """`npm ci` when node_modules is missing or older than the lock, then `npm run build` when
    web/dist is missing or older than its sources. Returns True when it built."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: the web client needs Node.js 20 with npm")
    stamp = web_dir / "node_modules" / ".installed"
    lock = web_dir / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        print("installing the web client's packages (npm ci) ...", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web_dir, check=True)
        stamp.touch()
    if not force and not build_is_stale(web_dir):
        return False
    print("building the web client (vite build) ...", flush=True)
    t0 = time.monotonic()
    subprocess.run([npm, "run", "--silent", "build"], cwd=web_dir, check=True)
    print(f"web client built in {time.monotonic() - t0:.0f}s", flush=True)
    return True


def dev_sign_in_enabled(stack) -> bool:
    settings = stack.settings("contacts")
    return settings.development and not settings.jwks_url


async def _ids_of(stack, client: httpx.AsyncClient, user: dict) -> dict:
    """The company (and contact) a portal demo user is bound to, looked up as an admin. A failed
    request (a busy gateway) is retried; only a company that is really absent is a LookupError."""
    import asyncio

    token = stack.mint("admin", "devtools.web", ttl="5m")
    q = (
        "query($n: String!, $e: String) { companies(first: 1, filter: {name: $n}) { edges { node { id } } } "
        "contacts(first: 1, filter: {email: $e}) { edges { node { id } } } }"
    )
    variables = {"n": user["company"], "e": user.get("contactEmail") or "-"}
    problem = ""
    for attempt in range(4):
        try:
            r = await client.post(
                stack.gateway_url,
                json={"query": q, "variables": variables},
                headers={"authorization": f"Bearer {token}"},
            )
            body = r.json()
            if r.status_code == 200 and not body.get("errors"):
                break
            problem = f"{r.status_code} {body.get('errors')}"
        except (httpx.HTTPError, ValueError) as exc:
            problem = repr(exc)
        await asyncio.sleep(0.5 * (attempt + 1))
    else:
        raise RuntimeError(f"the gateway did not answer the demo user lookup: {problem}")
    data = body["data"]
    companies = (data.get("companies") or {}).get("edges") or []
    if not companies:
        raise LookupError(f"{user['company']} is not in this CRM (start with demo data)")
    out = {"company": companies[0]["node"]["id"]}
    contacts = (data.get("contacts") or {}).get("edges") or []
    if user.get("contactEmail") and contacts:
        out["contact"] = contacts[0]["node"]["id"]
    return out


def web_app(stack, dist: Path = DIST) -> Starlette:
    """The development web server over a running `devtools.stack.Stack`."""
    client = httpx.AsyncClient(timeout=60)

    async def graphql(request: Request) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k in ("authorization", "content-type", "accept", "x-request-id", "graphql-client-name")
        }
        r = await client.request(
            request.method,
            stack.gateway_url,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
        keep = {k: v for k, v in r.headers.items() if k in ("content-type", "retry-after", "www-authenticate")}
        return Response(r.content, status_code=r.status_code, headers=keep)

    async def imports(request: Request) -> Response:
        """`/imports/*` (CSV upload, error report: docs/import.md) goes to the contacts service, as a
        deployment routes it; the body is streamed, so the service's own size limit applies, and the
        token is checked there exactly as for /graphql."""
        base = stack.service_url("contacts").removesuffix("/graphql")
        headers = {
            k: v
            for k, v in request.headers.items()
            if k in ("authorization", "content-type", "content-length", "x-request-id")
        }
        upstream = client.build_request(
            request.method,
            base + request.url.path,
            params=request.query_params,
            content=request.stream(),
            headers=headers,
        )
        r = await client.send(upstream)
        keep = {k: v for k, v in r.headers.items() if k in ("content-type", "content-disposition", "www-authenticate")}
        return Response(r.content, status_code=r.status_code, headers=keep)

    async def config(request: Request) -> Response:
        if dev_sign_in_enabled(stack):
            return JSONResponse({"signIn": "development"})
        return JSONResponse(
            {
                "signIn": "oidc",
                "oidc": {
                    "authority": os.environ.get("TURNKEY_OIDC_ISSUER", ""),
                    "clientId": os.environ.get("TURNKEY_OIDC_CLIENT_ID", "turnkey-web"),
                    "scope": os.environ.get("TURNKEY_OIDC_SCOPE", "openid profile email"),
                },
            }
        )

    async def users(request: Request) -> Response:
        if not dev_sign_in_enabled(stack):
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse([{k: u[k] for k in ("user", "role", "name")} for u in DEMO_USERS])

    async def token(request: Request) -> Response:
        if not dev_sign_in_enabled(stack):
            return JSONResponse({"error": "not found"}, status_code=404)
        try:
            body = await request.json()
        except ValueError:
            body = None
        wanted = body.get("user") if isinstance(body, dict) else None
        user = next((u for u in DEMO_USERS if u["user"] == wanted), None)
        if user is None:
            return JSONResponse({"error": "unknown demo user"}, status_code=400)
        bound: dict = {}
        if user.get("company"):
            try:
                bound = await _ids_of(stack, client, user)
            except LookupError as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            except RuntimeError as exc:
                return JSONResponse({"error": str(exc)}, status_code=502)
        jwt = stack.mint(user["role"], user["user"], ttl="8h", **bound)
        return JSONResponse({"token": jwt, "role": user["role"], "user": user["user"], "name": user["name"]})

    async def static(request: Request) -> Response:
        rel = request.path_params.get("path", "")
        target = (dist / rel).resolve()
        if rel and target.is_file() and dist.resolve() in target.parents:
            cache = "public, max-age=31536000, immutable" if rel.startswith("assets/") else "no-cache"
            return FileResponse(target, headers={"cache-control": cache})
        index = dist / "index.html"
        if not index.exists():
            return Response("web/dist is missing: run `make run` (it builds the web client)", status_code=503)
        return FileResponse(index, headers={"cache-control": "no-cache"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/imports/{path:path}", imports, methods=["GET", "POST"]),
            Route("/config.json", config),
            Route("/dev/users", users),
            Route("/dev/token", token, methods=["POST"]),
            Route("/{path:path}", static),
        ],
        lifespan=lifespan,
    )


async def start_web(stack, port: int) -> str:
    """Serve the web client for `stack` on `port` (in the stack's event loop); stack.stop() stops it."""
    import asyncio

    import uvicorn

    from devtools.stack import _Server

    server = _Server(
        uvicorn.Config(web_app(stack), host=stack.host, port=port, lifespan="on", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(), name="serve-web")
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the web server did not start")
        if time.monotonic() > deadline:
            raise TimeoutError("the web server did not start")
        await asyncio.sleep(0.02)
    stack.servers["web"] = (server, task)
    return f"http://{stack.host}:{port}/"
