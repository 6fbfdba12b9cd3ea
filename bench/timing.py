"""Does the answer time tell a hidden record from a missing one? (not part of `make test`):
`python -m bench.timing [-n 200]`.

A partner asks for a deal by id: alternately another partner's deal (exists, hidden by the scope)
and a made-up id (does not exist), `n` pairs, straight at the deals subgraph and through the
gateway. Prints the mean difference (hidden − missing) and its z-score (difference over its
standard error); |z| above ~3 means the two can be told apart."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.crm import running_crm

DEAL = "query($id: ID!) { deal(id: $id) { id } }"


async def pairs(c: httpx.AsyncClient, url: str, hidden: str, n: int) -> tuple[float, float]:
    diffs = []
    for i in range(n + 20):
        times = {}
        for kind, id in (("hidden", hidden), ("missing", f"01JZZZZZZZZZZZZZZZZZZZ{i:04d}")):
            t0 = time.perf_counter()
            r = await c.post(url, json={"query": DEAL, "variables": {"id": id}})
            times[kind] = time.perf_counter() - t0
            assert r.json()["data"]["deal"] is None, r.text
        if i >= 20:  # warm-up
            diffs.append(times["hidden"] - times["missing"])
    mean = statistics.fmean(diffs)
    return mean, mean / (statistics.stdev(diffs) / len(diffs) ** 0.5)


async def main(n: int) -> None:
    with running_crm() as crm:
        async with httpx.AsyncClient(timeout=30, headers=crm.headers) as admin:
            r = await admin.post(
                crm.gateway, json={"query": "{ deals(first: 50) { edges { node { id partnerId } } } }"}
            )
            deals = [e["node"] for e in r.json()["data"]["deals"]["edges"]]
        hidden = next(d["id"] for d in deals if not d["partnerId"])  # a deal of the firm's own: hidden from partners
        partner = crm.token("partner", "bench@partner", company="P1")
        print(f"hidden vs missing deal id, {n} interleaved pairs, as a partner\n")
        async with httpx.AsyncClient(timeout=30, headers={"authorization": f"Bearer {partner}"}) as c:
            for name, url in (("deals subgraph, direct", crm.subgraphs["deals"]), ("through the gateway", crm.gateway)):
                mean, z = await pairs(c, url, hidden, n)
                print(f"{name:<26} mean difference {mean * 1e6:+8.0f} µs   z = {z:+.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    asyncio.run(main(ap.parse_args().n))
