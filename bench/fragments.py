"""How fast hostile documents are refused (not part of `make test`): `python -m bench.fragments`.

The review's fragment bomb — `{ me { ...F13 } }`, each fragment spreading the one below four
times (4^13 fields once expanded) — sent as a partner to the gateway and straight to each subgraph,
one keep-alive connection, N times each: median and p95 of the time to the refusal, and the
latency of an admin's `{ me { sub } }` sent while bombs are in flight (it must not wait on them)."""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.crm import running_crm
from bench.run import pct
from devtools.hostile import fragment_bomb


async def timed(c: httpx.AsyncClient, url: str, body: dict) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = await c.post(url, json=body)
    return time.perf_counter() - t0, r


async def main(n: int, levels: int) -> None:
    with running_crm() as crm:
        partner = crm.token("partner", "bench@partner", company="P1")
        bomb = {"query": fragment_bomb(levels)}
        query = "{ companies { totalCount } }"  # contacts only; `me` is contacts' too
        print(f"refusing a 4^{levels} fragment document ({n} requests per target, one connection each)\n")
        print(f"{'target':<12}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   concurrent admin query p50 / max ms")
        for name, url in [("gateway", crm.gateway), *crm.subgraphs.items()]:
            async with (
                httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {partner}"}) as c,
                httpx.AsyncClient(timeout=30, headers=crm.headers) as admin,
            ):
                await c.post(url, json={"query": "{ __typename }"})  # connect
                await admin.post(crm.gateway, json={"query": query})
                refused, others = [], []
                for _ in range(n):
                    (t, r), (t2, _) = await asyncio.gather(
                        timed(c, url, bomb), timed(admin, crm.gateway, {"query": query})
                    )
                    assert r.status_code < 500 and r.json().get("errors") and not r.json().get("data"), r.text[:300]
                    refused.append(t)
                    others.append(t2)
            print(
                f"{name:<12}{pct(refused, 50) * 1000:>9.1f}{pct(refused, 95) * 1000:>9.1f}{max(refused) * 1000:>9.1f}"
                f"   {pct(others, 50) * 1000:.1f} / {max(others) * 1000:.1f}"
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--levels", type=int, default=13)
    a = ap.parse_args()
    asyncio.run(main(a.n, a.levels))
