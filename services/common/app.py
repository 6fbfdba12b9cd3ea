"""The HTTP face of a service (Starlette): `/graphql` (the subgraph; GraphiQL in development),
`/healthz` (process alive), `/readyz` (store and bus answer), `/metrics` (Prometheus text)."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

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

PRINCIPAL = "turnkey.principal"


class _GraphQLApp(GraphQL):
    def __init__(self, service: Service, schema, **kw):
        super().__init__(schema, **kw)
        self.service = service

    async def get_context(self, request, response) -> Context:
        # the endpoint verified the token before the request reached strawberry
        return Context(self.service, request, response, principal=request.scope[PRINCIPAL])


def build_app(service: Service) -> Starlette:
    gql = _GraphQLApp(service, service.graphql_schema, graphql_ide="graphiql" if service.settings.development else None)

    async def graphql_endpoint(request: Request):
        t0 = time.perf_counter()
        try:
            # a GET without a query is the IDE page (development) or 404/406: no data, no token
            if request.method != "GET" or "query" in request.query_params:
                request.scope[PRINCIPAL] = await service.verifier.verify(request.headers.get("authorization"))
            response = await gql.run(request)
        except AuthError as exc:
            response = JSONResponse(
                {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
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

    return Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
