"""Store calls per subgraph for the README's 360° query, pinned (the model is Saleor's
`count_queries` fixture): an N+1 that creeps into a resolver changes a count and fails here.
Each count is one round trip to a service's database (a batched DataLoader load is one call)."""

from __future__ import annotations

import contextlib
from collections import Counter

from devtools.demo import QUERY_360

READS = ("get", "get_many", "find", "find_all", "count", "group")

# What the query costs in each subgraph: contacts finds the company, its contacts and its
# timeline (with totals); deals loads the company's deals, their pipeline and the health row, and
# finds the company's overdue payment milestones (one batched find, issue #11);
# marketing pages each contact's campaigns and loads their campaigns and revenue in one batch
# each; support pages the company's tickets and counts open ones in one group.
EXPECTED = {
    "contacts": {"find": 3, "count": 3},
    "deals": {"find": 2, "count": 1, "get_many": 2},
    "marketing": {"find": 2, "count": 2, "get_many": 1, "group": 1},
    "support": {"find": 1, "count": 1, "group": 1},
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


async def test_the_360_query_makes_a_fixed_number_of_store_calls(crm, gw):
    await gw.ok(QUERY_360)  # warm: schema and loaders built, replicas settled
    await crm.settle()
    running = [svc.scheduler for svc in crm.services.values() if svc.scheduler is not None]
    schedulers = [s for s in running if s._task is not None]
    for s in schedulers:  # their polls are store reads too, but not the query's
        await s.stop()
    try:
        with counting(crm.services) as counts:
            data = await gw.ok(QUERY_360)
    finally:
        for s in schedulers:
            s.start()
    assert data["companies"]["edges"], "the demo company is there"
    got = {name: dict(c) for name, c in counts.items()}
    print("store calls per subgraph:", got)
    assert got == EXPECTED
