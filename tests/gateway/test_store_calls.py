"""Store calls per subgraph for the README's 360° query, pinned (the model is Saleor's
`count_queries` fixture): an N+1 that creeps into a resolver changes a count and fails here.
Each count is one round trip to a service's database (a batched DataLoader load is one call)."""

from __future__ import annotations

import contextlib
from collections import Counter

from devtools.demo import QUERY_360

READS = ("get", "get_many", "find", "find_all", "first_pages", "count", "group")

# What the query costs in each subgraph: contacts finds the company, its contacts and its
# timeline (with totals); deals loads the company's deals, their pipeline and the health row, and
# finds the company's overdue payment milestones (one batched find, issue #11);
# marketing pages each contact's campaigns and loads their campaigns and revenue in one batch
# each; support pages the company's tickets and counts open ones in one group. A company's
# deals and tickets are first pages of all the request's companies at once (Context.page_of:
# `first_pages` and a grouped total).
EXPECTED = {
    "contacts": {"find": 3, "count": 3},
    "deals": {"first_pages": 1, "group": 1, "find": 1, "get_many": 2},
    "marketing": {"find": 2, "count": 2, "get_many": 1, "group": 1},
    "support": {"first_pages": 1, "group": 2},
}


@contextlib.contextmanager
def counting(services):
    """Count the store reads each service makes while the block runs."""
    counts = {name: Counter() for name in services}
    saved = []
    for name, svc in services.items():
        store = svc.store
        for method in READS:
            original = getattr(store, method)

            def counted(*args, _original=original, _name=name, _method=method, **kwargs):
                counts[_name][_method] += 1
                return _original(*args, **kwargs)

            setattr(store, method, counted)
            saved.append((store, method))
    try:
        yield counts
    finally:
        for store, method in saved:
            delattr(store, method)  # the class's method again


@contextlib.asynccontextmanager
async def background_paused(crm):
    """Stop the services' background loops (schedulers, marketing's sender) while counting: their
    polls are store reads too, but not the query's."""
    loops = [svc.scheduler for svc in crm.services.values() if getattr(svc, "scheduler", None) is not None]
    loops += [svc.sender for svc in crm.services.values() if getattr(svc, "sender", None) is not None]
    running = [loop for loop in loops if loop._task is not None]
    for loop in running:
        await loop.stop()
    try:
        yield
    finally:
        for loop in running:
            loop.start()


async def test_the_360_query_makes_a_fixed_number_of_store_calls(crm, gw):
    await gw.ok(QUERY_360)  # warm: schema and loaders built, replicas settled
    await crm.settle()
    async with background_paused(crm):
        with counting(crm.services) as counts:
            data = await gw.ok(QUERY_360)
    assert data["companies"]["edges"], "the demo company is there"
    got = {name: dict(c) for name, c in counts.items()}
    print("store calls per subgraph:", got)
    assert got == EXPECTED


# ---- regression guard: store calls and subgraph fetches per query shape -----------------------
LIST_PAGE = """{ companies(first: 50) { edges { node {
    id name health { level warnings openCriticalTickets } openTicketCount
    deals(first: 5) { edges { node { id title status } } }
    tickets(first: 5) { edges { node { id subject status } } } } } } }"""

# subgraph fetches the gateway makes for each shape (one per subgraph and level of the plan)
FETCHES = {
    "360": {"contacts": 1, "deals": 1, "marketing": 1, "support": 1},
    "list": {"contacts": 1, "deals": 1, "support": 1},
}
# store calls that still grow with the companies on a list page: (calls for 1, calls for all)
LIST_PAGE_GROWTH: dict = {}


def requests_of(svc) -> float:
    return sum(s.value for m in svc.requests.collect() for s in m.samples if s.name.endswith("_total"))


async def shape_cost(crm, gw, query: str):
    await gw.ok(query)
    await crm.settle()
    before = {n: requests_of(svc) for n, svc in crm.services.items()}
    async with background_paused(crm):
        with counting(crm.services) as counts:
            data = await gw.ok(query)
    fetched = {n: int(requests_of(svc) - before[n]) for n, svc in crm.services.items()}
    return data, {n: dict(c) for n, c in counts.items() if c}, {n: f for n, f in fetched.items() if f}


async def test_the_360_query_makes_a_fixed_number_of_subgraph_fetches(crm, gw):
    _, _, fetched = await shape_cost(crm, gw, QUERY_360)
    print("subgraph fetches:", fetched)
    assert fetched == FETCHES["360"]


async def test_the_list_page_store_calls_do_not_grow_with_the_page(crm, gw):
    """The list page (every company with health, open ticket count, first deals and tickets): the
    fetches and store calls of a page of all the demo's companies, pinned. Store calls per
    subgraph must not grow with the number of companies on the page: compare a page of 1."""
    data, calls, fetched = await shape_cost(crm, gw, LIST_PAGE)
    n = len(data["companies"]["edges"])
    assert n >= 5, "the demo has several companies"
    print(f"list page of {n}: store calls {calls}, fetches {fetched}")
    assert fetched == FETCHES["list"]
    _, calls_one, _ = await shape_cost(crm, gw, LIST_PAGE.replace("first: 50", "first: 1"))
    print(f"list page of 1: store calls {calls_one}")
    grown = {
        svc: {m: (calls_one.get(svc, {}).get(m, 0), k) for m, k in c.items() if k > calls_one.get(svc, {}).get(m, 0)}
        for svc, c in calls.items()
    }
    grown = {s: g for s, g in grown.items() if g}
    assert grown == LIST_PAGE_GROWTH, f"store calls growing with the page (1 company -> {n}): {grown}"
