"""A subgraph stops working on a request when its client goes away or its time is up
(services/common/app.py `_run`), with a real Starlette request whose ASGI channel reports the
disconnect, and a real asyncio task standing in for a slow execution."""

from __future__ import annotations

import asyncio
import dataclasses

from starlette.requests import Request

from services.common.app import _run
from services.common.settings import Settings


class Service:
    name = "test"

    def __init__(self, timeout: float):
        self.settings = dataclasses.replace(Settings(service="test"), request_timeout=timeout)


class SlowGraphQL:
    def __init__(self):
        self.cancelled = asyncio.Event()

    async def run(self, request):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def request(disconnect_after: float | None) -> Request:
    async def receive():
        if disconnect_after is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(disconnect_after)
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []}, receive)


async def test_the_work_is_cancelled_when_the_client_goes_away():
    gql = SlowGraphQL()
    response = await asyncio.wait_for(_run(Service(timeout=60), gql, request(0.05)), 5)
    assert response.status_code == 499
    await asyncio.wait_for(gql.cancelled.wait(), 1)


async def test_the_work_is_cancelled_when_its_time_is_up():
    gql = SlowGraphQL()
    response = await asyncio.wait_for(_run(Service(timeout=0.05), gql, request(None)), 5)
    assert response.status_code == 503 and b"TIMEOUT" in response.body
    await asyncio.wait_for(gql.cancelled.wait(), 1)
