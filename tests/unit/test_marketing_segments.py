"""Segment rules: validation, in-memory evaluation, and the Store filter agreeing with it on a real
(SQLite) store, missing values included."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys

import pytest

from services.common.errors import InputError
from services.common.store.sqlite import SqliteStore
from services.marketing import segments as S
from services.marketing.profiles import company_fields, deal_flags

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def profile(i: int, **kw) -> dict:
    """A varied set of profiles: every field sometimes missing."""
    lifecycles = ["lead", "prospect", "client", None]
    kinds = ["client", "prospect", "partner", None]
    tiers = ["A", "B", "C", None]
    cities = ["Oslo", "Bergen", None]
    deals = [{}, {"d1": "open"}, {"d1": "won"}, {"d1": "lost", "d2": "open"}]
    p = {
        "id": f"c{i:03d}",
        "lifecycle": lifecycles[i % 4],
        "owner": ["ann", "bob", None][i % 3],
        "email": [f"p{i}@x.test", None, ""][i % 3] if i % 5 else None,
        "last_activity_at": [None, "2026-01-01T00:00:00.000000Z", "2026-05-20T00:00:00.000000Z"][i % 3],
        "responded_campaigns": [[], ["camp1"], ["camp2", "camp1"]][i % 3],
        **company_fields(
            {
                "kind": kinds[(i // 2) % 4],
                "tier": tiers[(i // 3) % 4],
                "city": cities[i % 3],
                "industry": ["Architecture", None][i % 2],
                "country": ["no", "SE", None][(i // 5) % 3],
            }
        ),
        **deal_flags(deals[(i // 4) % 4]),
    }
    return {**p, **kw}


PROFILES = [profile(i) for i in range(60)]
RESPONDERS = {c: [p["id"] for p in PROFILES if c in p["responded_campaigns"]] for c in ("camp1", "camp2", "camp9")}

CONDITIONS = [
    S.condition("lifecycle", "in", ["Prospect"]),
    S.condition("lifecycle", "not_in", ["client"]),
    S.condition("lifecycle", "is_not_set"),
    S.condition("company_kind", "in", ["client", "partner"]),
    S.condition("tier", "in", ["a"]),
    S.condition("tier", "not_in", ["A", "B"]),
    S.condition("tier", "is_set"),
    S.condition("city", "in", [" oslo "]),
    S.condition("industry", "not_in", ["architecture"]),
    S.condition("country", "in", ["NO"]),
    S.condition("owner", "in", ["ann"]),
    S.condition("has_email", "is_set"),
    S.condition("has_email", "is_not_set"),
    S.condition("last_activity_at", "before", days=30),
    S.condition("last_activity_at", "after", at="2026-03-01T00:00:00.000000Z"),
    S.condition("last_activity_at", "is_not_set"),
    S.condition("responded_to_campaign", "in", ["camp2"]),
    S.condition("responded_to_campaign", "not_in", ["camp1"]),
    S.condition("responded_to_campaign", "not_in", ["camp9"]),
    S.condition("deal_status", "in", ["won", "lost"]),
    S.condition("deal_status", "not_in", ["open"]),
]


@pytest.fixture
async def contacts(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.connect()
    for p in PROFILES:
        await store.insert("ref_contacts", {k: v for k, v in p.items() if v is not None or k == "tier"})
    yield store
    await store.close()


async def ids_of(store, flt) -> set[str]:
    return {d["id"] for d in await store.find_all("ref_contacts", flt)}


def expected(seg: S.Resolved) -> set[str]:
    return {p["id"] for p in PROFILES if S.is_member(seg, p, NOW)}


@pytest.mark.parametrize("cond", CONDITIONS, ids=lambda c: f"{c['field']}-{c['op']}")
async def test_each_condition_filter_agrees_with_the_rule(contacts, cond):
    seg = S.Resolved(S.check_definition({"conditions": [cond]}))
    want = expected(seg)
    assert 0 < len(want) < len(PROFILES) or cond["field"] == "responded_to_campaign"
    assert await ids_of(contacts, S.segment_filter(seg, NOW, RESPONDERS)) == want
    # and its negation (used to exclude a segment) is exactly the rest
    negated = S.negate(S.segment_filter(seg, NOW, RESPONDERS))
    assert await ids_of(contacts, negated) == {p["id"] for p in PROFILES} - want


@pytest.mark.parametrize("match", ["all", "any"])
async def test_combinations_agree(contacts, match):
    for a, b in itertools.islice(itertools.combinations(CONDITIONS, 2), 0, None, 7):
        seg = S.Resolved(S.check_definition({"match": match, "conditions": [a, b]}))
        assert await ids_of(contacts, S.segment_filter(seg, NOW, RESPONDERS)) == expected(seg), (a, b)


async def test_static_entries_and_nested_include_exclude(contacts):
    prospects = S.Resolved(S.check_definition({"conditions": [S.condition("lifecycle", "in", ["prospect"])]}))
    tier_a = S.Resolved(S.check_definition({"conditions": [S.condition("tier", "in", ["A"])]}))
    seg = S.Resolved(
        S.check_definition({"conditions": [S.condition("company_kind", "in", ["client"])]}),
        include_ids=frozenset({"c000", "c001"}),
        exclude_ids=frozenset({"c002"}),
        includes=(prospects,),
        excludes=(tier_a,),
    )
    want = expected(seg)
    assert "c001" in want or profile(1)["tier"] == "A"
    assert "c002" not in want
    assert all(p["tier"] != "A" for p in PROFILES if p["id"] in want)
    assert await ids_of(contacts, S.segment_filter(seg, NOW, RESPONDERS)) == want
    static = S.Resolved(S.check_definition({}), include_ids=frozenset({"c005", "c007"}))
    assert expected(static) == {"c005", "c007"}
    assert await ids_of(contacts, S.segment_filter(static, NOW, RESPONDERS)) == {"c005", "c007"}
    assert await ids_of(contacts, S.segment_filter(S.Resolved(S.check_definition({})), NOW, {})) == set()


def test_a_contact_who_becomes_a_client_leaves_prospects():
    prospects = S.Resolved(S.check_definition({"conditions": [S.condition("lifecycle", "in", ["prospect"])]}))
    p = profile(1)
    assert S.is_member(prospects, p, NOW)
    assert not S.is_member(prospects, {**p, "lifecycle": "client"}, NOW)


@pytest.mark.parametrize(
    "defn",
    [
        {"conditions": [{"field": "shoe_size", "op": "in", "values": ["9"]}]},
        {"conditions": [S.condition("tier", "before", days=3)]},
        {"conditions": [S.condition("tier", "in", [])]},
        {"conditions": [S.condition("deal_status", "in", ["maybe"])]},
        {"conditions": [S.condition("last_activity_at", "before")]},
        {"conditions": [S.condition("last_activity_at", "before", at="2026-01-01T00:00:00.000000Z", days=3)]},
        {"conditions": [S.condition("last_activity_at", "before", days=-1)]},
        {"conditions": [S.condition("lifecycle", "in", ["x"])] * 21},
        {"include_segments": ["s1"], "exclude_segments": ["s1"]},
    ],
)
def test_bad_definitions_are_input_errors(defn):
    with pytest.raises(InputError):
        S.check_definition(defn)


def test_segment_rules_import_no_graphql_library():
    code = "import sys, services.marketing.segments; assert not {'strawberry', 'graphql'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
