"""The HTTP face of a service (Starlette): `/graphql` (the subgraph; GraphiQL in development),
`/healthz` (process alive), `/readyz` (store and bus answer), `/metrics` (Prometheus text)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import orjson
from cross_web import HTTPException
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from .auth import AuthError
from .context import Context

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger(__name__)
PRINCIPAL = "turnkey.principal"
# a JSON escape of a high surrogate not followed by a low one, or a low one on its own
LONE_SURROGATE = re.compile(
    rb"(?i)\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}"
)


class _GraphQLApp(GraphQL):
    def __init__(self, service: Service, schema, **kw):
        super().__init__(schema, **kw)
        self.service = service

    def encode_json(self, data: object) -> bytes | str:
        """Responses with orjson (several times faster than the standard library's encoder); the
        standard encoder for what orjson refuses (an integer beyond 64 bits, a non-string key)."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    async def get_context(self, request, response) -> Context:
        # the endpoint verified the token before the request reached strawberry
        return Context(self.service, request, response, principal=request.scope[PRINCIPAL])


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status, headers=headers
    )


def _ide_page(service: Service, request: Request) -> bool:
    """GraphiQL's page: development only, a browser's GET without a query."""
    return (
        service.settings.development
        and request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


async def _read_body(request: Request, limit: int) -> bool:
    """Read the body up to `limit` bytes (kept for Strawberry); False when it is larger."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return False
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's cache of the body: Strawberry reads it from here
    return True


def _lone_surrogate(body: bytes) -> bool:
    """A JSON body with a string holding a lone UTF-16 surrogate (valid JSON, but not text: it
    cannot be stored or encoded). The pattern is the cheap test; parsing confirms it."""
    if not LONE_SURROGATE.search(body):
        return False
    try:
        return _has_surrogate(json.loads(body))
    except ValueError:
        return False  # not JSON: Strawberry answers that


def _has_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read, so the next message is that)."""
    try:
        while (await request.receive())["type"] != "http.disconnect":
            pass
    except Exception:  # the server cannot tell: let the work run to its end or its timeout
        await asyncio.Event().wait()


async def _run(service: Service, gql: _GraphQLApp, request: Request) -> Response:
    """Execute, within the execution timeout; the work is cancelled when the client goes away."""
    work = asyncio.ensure_future(gql.run(request))
    gone = asyncio.ensure_future(_client_gone(request))
    done, _ = await asyncio.wait(
        {work, gone}, timeout=service.settings.request_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if work in done:
        gone.cancel()
        return work.result()
    work.cancel()
    gone.cancel()
    if gone in done:
        log.info("service=%s client went away: request cancelled", service.name)
        return Response(status_code=499)
    log.warning("service=%s request cancelled after %.0fs", service.name, service.settings.request_timeout)
    return _error(503, "TIMEOUT", f"the request took longer than {service.settings.request_timeout:g}s")


def build_app(service: Service) -> Starlette:
    gql = _GraphQLApp(service, service.graphql_schema, graphql_ide="graphiql" if service.settings.development else None)

    async def graphql_endpoint(request: Request):
        t0 = time.perf_counter()
        try:
            ide = _ide_page(service, request)
            if not ide:
                # every request but the development IDE page carries a verified token
                request.scope[PRINCIPAL] = await service.verifier.verify(request.headers.get("authorization"))
            if request.method == "GET" and "query" not in request.query_params and not ide:
                response = _error(400, "BAD_REQUEST", "send a GraphQL document in `query`")
            elif not await _read_body(request, service.settings.max_body_bytes):
                response = _error(413, "PAYLOAD_TOO_LARGE", f"the body exceeds {service.settings.max_body_bytes} bytes")
            elif _lone_surrogate(request._body):
                response = _error(400, "BAD_USER_INPUT", "the body contains a lone UTF-16 surrogate (not text)")
            else:
                response = await _run(service, gql, request)
        except AuthError as exc:
            response = _error(401, "UNAUTHENTICATED", str(exc), {"WWW-Authenticate": "Bearer"})
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        service.latency.observe(time.perf_counter() - t0)
        service.requests.labels(str(response.status_code)).inc()
        return response

    async def healthz(_: Request):
        return JSONResponse({"status": "ok", "service": service.name})

    async def readyz(_: Request):
        checks = await service.readiness()
        ok = service.started and all(checks.values())
        return JSONResponse({"ready": ok, **checks}, status_code=200 if ok else 503)

    async def metrics(_: Request):
        return Response(generate_latest(service.registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_app):
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *service.public_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    return app


async def read_limited_body(request: Request, limit: int) -> bytes | None:
    """The body of a public route's request, or None when it exceeds `limit` bytes."""
    return request._body if await _read_body(request, limit) else None
