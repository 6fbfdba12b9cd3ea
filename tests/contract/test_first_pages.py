"""Store.first_pages (the first page of many parents in one query) gives each parent exactly the
page `find` gives it: items, order, has_next and cursors that continue with `find(after=...)`,
including parents whose rows the shared query could not hold. Both stores."""

from __future__ import annotations

SORT = [("created_at", -1)]


async def test_first_pages_equal_find_for_each_parent(store):
    sizes = {"big": 30, "mid": 4, "one": 1, "none": 0}
    for parent, n in sizes.items():
        for i in range(n):
            await store.insert(
                "deals", {"company_id": parent, "title": f"{parent} {i}", "status": "open" if i % 2 else "won"}
            )
    parents = ["big", "mid", "one", "none", "missing"]
    for first in (0, 1, 3, 5, 40):
        for flt in (None, {"status": "open"}):
            pages = await store.first_pages("deals", "company_id", parents, flt, sort=SORT, first=first)
            assert set(pages) == set(parents)
            for p in parents:
                want = await store.find(
                    "deals", {"$and": [{"company_id": p}, flt]} if flt else {"company_id": p}, sort=SORT, first=first
                )
                got = pages[p]
                assert [d["id"] for d in got.items] == [d["id"] for d in want.items], (p, first, flt)
                assert (got.has_next, got.cursors, got.end_cursor) == (want.has_next, want.cursors, want.end_cursor)
                if got.has_next:  # the cursor continues the page exactly as find's does
                    nxt = await store.find("deals", {"company_id": p}, sort=SORT, first=2, after=got.end_cursor)
                    ref = await store.find("deals", {"company_id": p}, sort=SORT, first=2, after=want.end_cursor)
                    assert [d["id"] for d in nxt.items] == [d["id"] for d in ref.items]
