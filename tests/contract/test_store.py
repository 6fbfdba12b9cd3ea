"""Store contract: every test runs on SQLite and on a real MongoDB-wire server (FerretDB in CI)."""

from __future__ import annotations

import asyncio

import pytest

from services.common.envelope import Envelope
from services.common.errors import (
    AlreadyApplied,
    ConflictError,
    DuplicateKeyError,
    InvalidFilterError,
    NotFoundError,
)


async def test_insert_get_roundtrip(store):
    doc = await store.insert("companies", {"name": "Acme", "kind": "client", "address": {"city": "Oslo"}})
    assert doc["version"] == 1 and doc["id"] and doc["created_at"] == doc["updated_at"]
    got = await store.get("companies", doc["id"])
    assert got == doc
    assert await store.get("companies", "nope") is None
    assert await store.get("never_created", "x") is None


async def test_insert_with_given_id_and_duplicate_id(store):
    await store.insert("companies", {"id": "c1", "name": "A"})
    with pytest.raises(DuplicateKeyError):
        await store.insert("companies", {"id": "c1", "name": "B"})
    assert (await store.get("companies", "c1"))["name"] == "A"


async def test_insert_many_with_events_and_a_duplicate(store):
    from services.common.envelope import Envelope

    docs = await store.insert_many(
        "bulk", [({"id": f"b{i}", "n": i}, [Envelope("t.bulk.created", f"b{i}", {"n": i})]) for i in range(5)]
    )
    assert [d["id"] for d in docs] == [f"b{i}" for i in range(5)] and {d["version"] for d in docs} == {1}
    assert await store.count("bulk", {"n": {"$gte": 0}}) == 5
    pending = [doc for coll, doc in await store.pending_outbox() if coll == "bulk"]
    assert len(pending) == 5  # each document carries its own event (outbox)
    assert await store.insert_many("bulk", []) == []
    with pytest.raises(DuplicateKeyError):
        await store.insert_many("bulk", [({"id": "b9", "n": 9}, []), ({"id": "b1", "n": 100}, [])])
    assert (await store.get("bulk", "b1"))["n"] == 1  # never overwritten


async def test_unique_index_is_typed_error(store):
    await store.ensure_index("people", ["email"], unique=True)
    await store.ensure_index("people", ["email"], unique=True)  # idempotent
    await store.insert("people", {"email": "a@x.io"})
    with pytest.raises(DuplicateKeyError):
        await store.insert("people", {"email": "a@x.io"})
    other = await store.insert("people", {"email": "b@x.io"})
    with pytest.raises(DuplicateKeyError):
        await store.update("people", other["id"], {"email": "a@x.io"}, expected_version=1)
    assert (await store.get("people", other["id"]))["email"] == "b@x.io"
    assert await store.count("people") == 2


async def test_update_optimistic_concurrency(store):
    d = await store.insert("deals", {"title": "Survey", "amount": 100})
    d2 = await store.update("deals", d["id"], {"amount": 150}, expected_version=1)
    assert d2["version"] == 2 and d2["amount"] == 150 and d2["created_at"] == d["created_at"]
    with pytest.raises(ConflictError) as err:
        await store.update("deals", d["id"], {"amount": 999}, expected_version=1)
    assert err.value.actual == 2
    assert (await store.get("deals", d["id"]))["amount"] == 150
    with pytest.raises(NotFoundError):
        await store.update("deals", "missing", {"amount": 1}, expected_version=1)


async def test_concurrent_unversioned_updates_all_apply(store):
    d = await store.insert("counters", {"n": 0})

    async def bump():
        await store.mutate("counters", d["id"], lambda doc: {**doc, "n": doc["n"] + 1})

    await asyncio.gather(*(bump() for _ in range(10)))
    got = await store.get("counters", d["id"])
    assert got["n"] == 10 and got["version"] == 11


async def test_unset_and_delete(store):
    d = await store.insert("notes", {"a": 1, "b": 2})
    d = await store.update("notes", d["id"], {}, unset=["b"])
    assert "b" not in d
    with pytest.raises(ConflictError):
        await store.delete("notes", d["id"], expected_version=1)
    await store.delete("notes", d["id"], expected_version=2)
    assert await store.get("notes", d["id"]) is None
    with pytest.raises(NotFoundError):
        await store.delete("notes", d["id"])


@pytest.fixture
async def seeded(store):
    rows = [
        {
            "id": f"d{i:02d}",
            "title": f"Deal {i}",
            "stage": ["lead", "proposal", "won"][i % 3],
            "amount": i * 10,
            "owner": {"name": "ann" if i % 2 else "bob"},
            "closed": i % 4 == 0,
            **({"note": "x"} if i < 5 else {}),
        }
        for i in range(20)
    ]
    for r in rows:
        await store.insert("deals", r)
    return store


async def ids(store, flt, **kw):
    page = await store.find("deals", flt, **kw)
    return [d["id"] for d in page.items]


async def test_filter_subset(seeded):
    s = seeded
    assert await ids(s, {"stage": "won"}) == ["d02", "d05", "d08", "d11", "d14", "d17"]
    assert await ids(s, {"amount": {"$gte": 150, "$lt": 180}}) == ["d15", "d16", "d17"]
    assert await ids(s, {"amount": {"$gt": 180}}) == ["d19"]
    assert await ids(s, {"amount": {"$lte": 10}}) == ["d00", "d01"]
    assert await ids(s, {"stage": {"$in": ["lead", "won"]}, "amount": {"$lt": 40}}) == ["d00", "d02", "d03"]
    assert len(await ids(s, {"stage": {"$nin": ["lead", "won"]}})) == 7
    assert len(await ids(s, {"stage": {"$ne": "lead"}})) == 13
    assert await ids(s, {"owner.name": "bob", "amount": {"$lt": 50}}) == ["d00", "d02", "d04"]
    assert await ids(s, {"closed": True, "amount": {"$lt": 90}}) == ["d00", "d04", "d08"]
    assert len(await ids(s, {"note": {"$exists": True}})) == 5
    assert len(await ids(s, {"note": {"$exists": False}})) == 15
    assert len(await ids(s, {"note": None})) == 15
    assert await ids(s, {"$or": [{"id": "d03"}, {"amount": 190}]}) == ["d03", "d19"]
    assert await ids(s, {"$and": [{"stage": "lead"}, {"amount": {"$gt": 150}}]}) == ["d18"]
    assert await ids(s, {"id": {"$in": ["d01", "zz"]}}) == ["d01"]


async def test_invalid_filters_are_typed(seeded):
    for bad in [
        {"$where": "1"},
        {"a": {"$regex": "x"}},
        {"a; DROP TABLE x": 1},
        {"a": {"$in": "notalist"}},
        {"a": {"nested": "doc"}},
        {"a": ["list"]},
        {"$or": []},
    ]:
        with pytest.raises(InvalidFilterError):
            await seeded.find("deals", bad)
    with pytest.raises(InvalidFilterError):
        await seeded.find("deals", {}, first=10_000)
    with pytest.raises(InvalidFilterError):
        await seeded.find("deals", {}, after="not-a-cursor!!")
    with pytest.raises(InvalidFilterError):
        await seeded.find("bad name", {})


async def test_sort_and_cursor_pagination(seeded):
    s = seeded
    seen, after = [], None
    while True:
        page = await s.find("deals", {"stage": {"$ne": "won"}}, sort=[("amount", -1)], first=4, after=after)
        seen += [d["amount"] for d in page.items]
        assert len(page.cursors) == len(page.items)
        if not page.has_next:
            break
        after = page.end_cursor
    assert seen == sorted(seen, reverse=True) and len(seen) == 14
    # ties broken by id, stable across pages even with equal sort keys
    seen, after = [], None
    while True:
        page = await s.find("deals", {}, sort=[("stage", 1)], first=3, after=after)
        seen += [(d["stage"], d["id"]) for d in page.items]
        if not page.has_next:
            break
        after = page.end_cursor
    assert seen == sorted(seen) and len(seen) == 20
    # a page after the last item is empty; the cursor stays valid after inserts
    last = await s.find("deals", {}, sort=[("amount", 1)], first=20)
    assert not last.has_next
    await s.insert("deals", {"id": "d99", "amount": 5, "stage": "lead"})
    tail = await s.find("deals", {}, sort=[("amount", 1)], after=last.end_cursor)
    assert tail.items == []
    head = await s.find("deals", {}, sort=[("amount", 1)], first=2, after=last.start_cursor)
    assert [d["id"] for d in head.items] == ["d99", "d01"]


async def test_count_and_group(seeded):
    s = seeded
    assert await s.count("deals") == 20
    assert await s.count("deals", {"stage": "won"}) == 6
    assert await s.count("nothing_here") == 0
    rows = await s.group("deals", ["stage"], sums=["amount"])
    assert rows == [
        {"key": {"stage": "lead"}, "count": 7, "sum": {"amount": 630}},
        {"key": {"stage": "proposal"}, "count": 7, "sum": {"amount": 700}},
        {"key": {"stage": "won"}, "count": 6, "sum": {"amount": 570}},
    ]
    rows = await s.group("deals", ["stage", "owner.name"], sums=["amount"], flt={"stage": "won"})
    assert rows == [
        {"key": {"stage": "won", "owner.name": "ann"}, "count": 3, "sum": {"amount": 330}},
        {"key": {"stage": "won", "owner.name": "bob"}, "count": 3, "sum": {"amount": 240}},
    ]
    total = await s.group("deals", [], sums=["amount"], flt={"closed": True})
    assert total == [{"key": {}, "count": 5, "sum": {"amount": 400}}]


async def test_get_many(seeded):
    got = await seeded.get_many("deals", ["d01", "d02", "d01", "zz"])
    assert sorted(got) == ["d01", "d02"]


async def test_events_ride_with_the_write(store):
    ev = Envelope(type="contacts.company.created", subject="c1", data={"name": "Acme"})
    await store.insert("companies", {"id": "c1", "name": "Acme"}, events=[ev])
    pending = await store.pending_outbox()
    assert [(c, [e["id"] for e in r["_outbox"]]) for c, r in pending] == [("companies", [ev.id])]
    # the public document does not show the outbox
    assert "_outbox" not in await store.get("companies", "c1")
    ev2 = Envelope(type="contacts.company.updated", subject="c1", data={})
    await store.update("companies", "c1", {"name": "Acme AS"}, expected_version=1, events=[ev2])
    coll, raw = (await store.pending_outbox())[0]
    assert [e["id"] for e in raw["_outbox"]] == [ev.id, ev2.id]
    assert await store.clear_outbox(coll, raw, {ev.id})
    coll, raw = (await store.pending_outbox())[0]
    assert [e["id"] for e in raw["_outbox"]] == [ev2.id]
    assert (await store.get("companies", "c1"))["version"] == 2  # relay bookkeeping is not a change


async def test_outbox_clear_loses_nothing_under_a_concurrent_write(store):
    ev = Envelope(type="contacts.company.created", subject="c1", data={})
    await store.insert("companies", {"id": "c1", "name": "A"}, events=[ev])
    coll, raw = (await store.pending_outbox())[0]
    ev2 = Envelope(type="contacts.company.updated", subject="c1", data={})
    await store.update("companies", "c1", {"name": "B"}, events=[ev2])
    assert not await store.clear_outbox(coll, raw, {ev.id})  # stale: relay comes back later
    coll, raw = (await store.pending_outbox())[0]
    assert {e["id"] for e in raw["_outbox"]} == {ev.id, ev2.id}


async def test_a_relay_batch_clears_many_outboxes_and_keeps_what_changed_meanwhile(store):
    evs = {i: Envelope(type="t.batch.created", subject=f"b{i}", data={}) for i in range(5)}
    for i, ev in evs.items():
        await store.insert("batch", {"id": f"b{i}", "n": i}, events=[ev])
    read = {raw["_id"]: raw for coll, raw in await store.pending_outbox(100) if coll == "batch"}
    assert sorted(read) == [f"b{i}" for i in range(5)]
    later = Envelope(type="t.batch.updated", subject="b1", data={})
    await store.update("batch", "b1", {"n": 10}, events=[later])  # changed after the relay read it
    published = [("batch", read[f"b{i}"], {evs[i].id}) for i in range(4)]  # b4's event not published
    await store.clear_outboxes(published)
    left = {raw["_id"]: [e["id"] for e in raw["_outbox"]] for c, raw in await store.pending_outbox(100) if c == "batch"}
    assert left == {"b1": [evs[1].id, later.id], "b4": [evs[4].id]}
    assert [(await store.get("batch", f"b{i}"))["version"] for i in range(5)] == [1, 2, 1, 1, 1]
    assert (await store.get("batch", "b1"))["n"] == 10


async def test_delete_with_event_erases_at_once_and_keeps_the_event(store):
    await store.insert("people", {"id": "p1", "name": "Ivan", "email": "i@x.io"})
    ev = Envelope(type="contacts.contact.erased", subject="p1", data={})
    await store.delete("people", "p1", events=[ev])
    assert await store.get("people", "p1") is None
    assert await store.count("people") == 0
    assert (await store.find("people")).items == []
    coll, raw = (await store.pending_outbox())[0]
    assert "name" not in raw and "email" not in raw and raw["_outbox"][0]["id"] == ev.id
    assert await store.clear_outbox(coll, raw, {ev.id})
    assert await store.pending_outbox() == []
    await store.insert("people", {"id": "p1", "name": "new"})  # the tombstone is gone


async def test_applied_event_guard(store):
    await store.insert("health", {"id": "c1", "open": 0})
    inc = lambda d: {**d, "open": d["open"] + 1}  # noqa: E731
    await store.mutate("health", "c1", inc, event_id="e1")
    with pytest.raises(AlreadyApplied):
        await store.mutate("health", "c1", inc, event_id="e1")
    await store.mutate("health", "c1", inc, event_id="e2")
    assert (await store.get("health", "c1"))["open"] == 2
    # create-on-first-event
    await store.mutate("health", "c2", lambda d: {"open": 1}, event_id="e3", create=True)
    with pytest.raises(AlreadyApplied):
        await store.mutate("health", "c2", lambda d: {"open": 1}, event_id="e3", create=True)


async def test_emit_standalone_events(store):
    ev = Envelope(type="deals.health.changed", subject="c1", data={})
    await store.emit([ev])
    pending = await store.pending_outbox()
    assert pending[0][0] == "outbox"
    coll, raw = pending[0]
    assert await store.clear_outbox(coll, raw, {ev.id})
    assert await store.pending_outbox() == []
    assert await store.ping()


async def test_keyed_emit_is_written_once_while_pending(store):
    a = Envelope(type="contacts.contact.created", subject="p1", data={}, id="p1.created")
    b = Envelope(type="contacts.contact.created", subject="p2", data={}, id="p2.created")
    await store.emit([a, b], key="import-j1-000000")
    await store.emit([a, b], key="import-j1-000000")  # a resumed chunk: nothing written twice
    pending = [(c, r) for c, r in await store.pending_outbox(100) if c == "outbox"]
    assert [[e["id"] for e in r["_outbox"]] for _, r in pending] == [["p1.created", "p2.created"]]
    coll, raw = pending[0]
    assert await store.clear_outbox(coll, raw, {"p1.created", "p2.created"})
    assert await store.pending_outbox() == []
    await store.emit([a], key="import-j1-000000")  # published and gone: written again (at least once)
    assert [[e["id"] for e in r["_outbox"]] for c, r in await store.pending_outbox(100)] == [["p1.created"]]


async def test_compare_and_set_has_exactly_one_winner(store):
    d = await store.insert("deals", {"amount": 0})

    async def write(n):
        try:
            await store.update("deals", d["id"], {"amount": n}, expected_version=1)
            return n
        except ConflictError:
            return None

    results = await asyncio.gather(*(write(n) for n in range(1, 9)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    got = await store.get("deals", d["id"])
    assert got["version"] == 2 and got["amount"] == winners[0]


async def test_relay_clearing_the_outbox_never_makes_a_versioned_write_conflict(store):
    """The relay writes at the same version (it only removes published events), so a user's
    write with the right expected_version must succeed even while the relay is clearing."""
    for round_ in range(10):
        doc = await store.insert("deals", {"n": 0}, events=[Envelope("deals.deal.created", "x", {})])
        ((coll, raw),) = [p for p in await store.pending_outbox(500) if p[1]["_id"] == doc["id"]]
        _cleared, updated = await asyncio.gather(
            store.clear_outbox(coll, raw, {e["id"] for e in raw["_outbox"]}),
            store.update("deals", doc["id"], {"n": 1}, expected_version=1),
        )
        assert updated["version"] == 2 and updated["n"] == 1, round_


async def test_the_outbox_scan_is_indexed(store):
    """The relay looks for `_pending` documents in every collection: that scan has an index."""
    await store.insert("indexed", {"id": "a"}, events=[Envelope("t.indexed.created", "a", {})])
    assert [c for c, _ in await store.pending_outbox()] == ["indexed"]
    if hasattr(store, "client"):  # MongoStore
        names = [ix["name"] async for ix in await store.db["indexed"].list_indexes()]
    else:
        rows = await store.db.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")
        names = [r[0] for r in rows]
    assert any(n.endswith("indexed_ix__pending") or n == "ix__pending" for n in names), names
